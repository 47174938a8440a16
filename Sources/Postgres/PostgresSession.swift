internal import CLibpq

/// A blocking connection for code that is not on an event loop: migrations before the loops
/// start, command-line tools, the scheduler's own threads, and tests.
///
/// Never use it on an event-loop thread; the serving path uses `PostgresConnection`.
public final class PostgresSession {
    private var connection: OpaquePointer?
    /// Kept only to take its password out of libpq's error messages.
    private let connectionString: String

    /// Connects with any libpq connection string (URI or key/value; `sslmode` is honoured).
    public init(connectionString: String) throws(PostgresError) {
        self.connectionString = connectionString
        let connection = PQconnectdb(connectionString)
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let message = connection.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? "out of memory"
            PQfinish(connection)
            let redacted = ConnectionString.redacting(
                message.trimmingTrailingNewlines(), connectionString: connectionString)
            throw PostgresError(.connection, "cannot connect to PostgreSQL: \(redacted)")
        }
        PostgresNotices.install(on: connection)
        self.connection = connection
    }

    deinit {
        close()
    }

    public func close() {
        if let connection { PQfinish(connection) }
        connection = nil
    }

    /// Runs one statement with text parameters `$1…` and returns its rows.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresResult {
        guard let connection else { throw PostgresError(.shutdown, "session is closed") }
        let result: OpaquePointer? = withCParameters(parameters) { values in
            PQexecParams(connection, sql, Int32(values.count), nil, values, nil, nil, 0)
        }
        guard let result else { throw connectionError() }
        if PQstatus(connection) == CONNECTION_BAD {
            PQclear(result)
            throw connectionError()
        }
        return try PostgresResultReader.consume(result).get()
    }

    /// Runs several statements separated by semicolons, without parameters (migration files).
    public func executeScript(_ sql: String) throws(PostgresError) {
        guard let connection else { throw PostgresError(.shutdown, "session is closed") }
        guard let first = PQexec(connection, sql) else { throw connectionError() }
        var outcome = PostgresResultReader.consume(first)
        // PQexec returns only the last result; an error stops the script at that statement.
        while let next = PQgetResult(connection) { outcome = PostgresResultReader.consume(next) }
        _ = try outcome.get()
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }

    /// Sends `COPY … FROM STDIN` data in chunks: the fast way to load many rows.
    public func copyIn(_ sql: String, chunks: some Sequence<[UInt8]>) throws(PostgresError) {
        guard let connection else { throw PostgresError(.shutdown, "session is closed") }
        guard let start = PQexec(connection, sql) else { throw connectionError() }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            _ = try PostgresResultReader.consume(start).get()
            throw PostgresError(.query, "COPY did not start")
        }
        PQclear(start)
        for chunk in chunks {
            let sent = chunk.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(connection, $0.baseAddress, Int32($0.count)) }
            }
            guard sent == 1 else { throw connectionError() }
        }
        guard PQputCopyEnd(connection, nil) == 1 else { throw connectionError() }
        while let result = PQgetResult(connection) { _ = try PostgresResultReader.consume(result).get() }
    }

    /// The server's backend process id (for tests that terminate it).
    public var backendPID: Int32 {
        connection.map { PQbackendPID($0) } ?? 0
    }

    private func connectionError() -> PostgresError {
        let message = connection.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? "no connection"
        return PostgresError(
            .connection,
            ConnectionString.redacting(message.trimmingTrailingNewlines(), connectionString: connectionString))
    }
}
