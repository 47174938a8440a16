extension PostgresSession {
    /// Drops the database `name` on the server of `url` if it exists (disconnecting its sessions),
    /// creates it empty, and returns `url` pointed at it: a known-empty database for tests and
    /// benchmarks run against a server of the caller's choosing.
    public static func recreateDatabase(_ name: String, onServerOf url: String) throws -> String {
        let session = try PostgresSession(connectionString: url)
        try session.execute("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)")
        try session.execute("CREATE DATABASE \"\(name)\"")
        return try ConnectionString.replacingDatabase(in: url, with: name)
    }
}
