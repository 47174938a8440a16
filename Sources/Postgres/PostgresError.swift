/// A database failure in words an operator can act on, with PostgreSQL's SQLSTATE when it sent one.
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Could not connect, or the connection broke: the outcome of an in-flight statement is unknown.
        case connection
        /// The server answered with an error; the statement had no effect.
        case query
        /// No answer within the deadline; the connection was dropped, so the outcome is unknown.
        case timeout
        /// The connection is being shut down and takes no more work.
        case shutdown
    }

    public let kind: Kind
    public let message: String
    /// Five-character SQLSTATE (e.g. `23505`), when the server sent one.
    public let sqlState: String?

    public init(_ kind: Kind, _ message: String, sqlState: String? = nil) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
    }

    /// Whether retrying later may succeed: the connection failed or timed out, or the server
    /// refused for a passing reason (SQLSTATE class 08 connection exception, 53 insufficient
    /// resources, 57 operator intervention incl. statement_timeout's 57014, 40 serialization or
    /// deadlock). Anything else is a bug or bad data, and retrying will not help.
    public var isTransient: Bool {
        switch kind {
        case .connection, .timeout, .shutdown:
            return true
        case .query:
            return ["08", "53", "57", "40"].contains(sqlState.map { String($0.prefix(2)) } ?? "")
        }
    }

    public var description: String {
        sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message
    }
}
