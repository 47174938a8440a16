import Postgres

/// Connection strings in logs never show a password.
public enum ConnectionStringMask {
    public static func mask(_ connectionString: String) -> String {
        ConnectionString.masked(connectionString)
    }
}
