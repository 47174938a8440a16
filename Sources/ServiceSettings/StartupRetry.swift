import Foundation
public import Logging
import Postgres

/// Retries the database work of a long-running process's start-up (`serve`, `schedule`) while the
/// database cannot be reached, with capped exponential backoff, logging every failed attempt and
/// its reason. There is no start-up deadline: an orchestrator's probes decide when to give up, and
/// SIGTERM/SIGINT end the process at any moment (`SignalWaiter`). Failures that waiting cannot fix
/// (a changed migration, a bad migrations directory) are thrown at once.
public struct StartupRetry: Sendable {
    public var initialDelay: Duration = .milliseconds(500)
    public var maximumDelay: Duration = .seconds(30)
    /// True once a signal is ending the process: a failure caused by that (the embedded cluster
    /// stopping under the attempt) is then neither logged nor retried; the caller just waits for the exit.
    public var isStopping: @Sendable () -> Bool

    public init(isStopping: @escaping @Sendable () -> Bool = { false }) {
        self.isStopping = isStopping
    }

    public func run<T>(logger: Logger, _ body: () throws -> T) throws -> T {
        var delay = initialDelay
        var attempt = 1
        while true {
            do {
                return try body()
            } catch let error as PostgresError where error.isTransient {
                while isStopping() { Thread.sleep(forTimeInterval: 1) }
                logger.warning(
                    "database unavailable at startup; retrying",
                    metadata: [
                        "attempt": "\(attempt)", "error": "\(error)",
                        "retry_in": "\(delay)",
                    ])
                Thread.sleep(
                    forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
                delay = min(delay * 2, maximumDelay)
                attempt += 1
            }
        }
    }
}
