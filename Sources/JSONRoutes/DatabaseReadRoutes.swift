public import Logging
public import Postgres

/// Routes that answer JSON reads from the loop's non-blocking connection (`DatabaseReads`): each
/// says what it reads and its logger's label, and gets the initialiser every such route offers.
public protocol DatabaseReadRoutes {
    /// What the routes read, as their 500 replies name it ("bids", "competitor prices").
    static var subject: String { get }
    /// The logger's label when the caller gives none.
    static var defaultLoggerLabel: String { get }

    init(reads: DatabaseReads)
}

extension DatabaseReadRoutes {
    /// `failures`: the loop's rate-limited failure log (`DatabaseReads.failures`).
    public init(
        connection: any PostgresQuerying, retryAfterSeconds: Int = 1, logger: Logger? = nil,
        failures: DatabaseFailureLog? = nil
    ) {
        self.init(
            reads: DatabaseReads(
                connection: connection, retryAfterSeconds: retryAfterSeconds,
                logger: logger ?? Logger(label: Self.defaultLoggerLabel), failures: failures, subject: Self.subject))
    }
}
