import Postgres

/// Connection strings in logs never show a password.
enum ConnectionStringMask {
    static func mask(_ connectionString: String) -> String {
        ConnectionString.masked(connectionString)
    }
}
