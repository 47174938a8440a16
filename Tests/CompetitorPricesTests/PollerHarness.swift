import Foundation
import Logging
import Postgres
import PostgresTestSupport
import ServiceTestSupport
import Telemetry

@testable import CompetitorPrices
@testable import ServiceSettings

/// A fresh migrated database and pollers configured to be fast: small pages, a generous bucket,
/// millisecond backoffs and one-second timeouts, so that faults cost little.
final class PollerHarness {
    let connectionString: String
    let session: PostgresSession

    init(database: String) throws {
        connectionString = try TestDatabase.fresh(database)
        try DatabaseLocator.migrate(
            connectionString: connectionString, migrationsDirectory: ServiceHarness.migrationsDirectory)
        session = try PostgresSession(connectionString: connectionString)
    }

    static func fastConfiguration() -> PollerConfiguration {
        var configuration = PollerConfiguration()
        configuration.pageSize = 10
        configuration.ratePerMinute = 60_000
        configuration.burst = 1000
        configuration.maxAttempts = 3
        configuration.backoffBase = .milliseconds(10)
        configuration.backoffMax = .milliseconds(40)
        configuration.maxRetryAfter = .seconds(3)
        // Generous enough for a machine busy with other builds; the timeout tests set tighter ones.
        configuration.connectTimeout = .seconds(1)
        configuration.readTimeout = .seconds(1)
        configuration.requestTimeout = .seconds(3)
        configuration.maxBodyBytes = 64 * 1024
        return configuration
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "poller-test")
        logger.logLevel = ProcessInfo.processInfo.environment["POLLER_TEST_LOG"] == nil ? .critical : .warning
        return logger
    }

    func poller(tracer: Tracer = .off, _ configure: (inout PollerConfiguration) -> Void = { _ in })
        -> CompetitorPricePoller
    {
        var configuration = Self.fastConfiguration()
        configure(&configuration)
        let transport = URLSessionFetcher(
            connectTimeout: configuration.connectTimeout, readTimeout: configuration.readTimeout,
            requestTimeout: configuration.requestTimeout, maxBodyBytes: configuration.maxBodyBytes)
        return CompetitorPricePoller(
            configuration: configuration, connectionString: connectionString, logger: Self.quietLogger,
            transport: transport,
            random: { 0.5 }, tracer: tracer)
    }

    /// Polls one fake server once.
    func poll(_ server: PollerFakeServer, _ configure: (inout PollerConfiguration) -> Void = { _ in }) throws
        -> PollRunSummary
    {
        try poller(configure).poll(CompetitorSource(parsing: "http://127.0.0.1:\(server.port)"))
    }

    /// The `poll_runs` row as a summary, to compare with what the poller returned.
    func storedRun(_ id: Int64?) throws -> PollRunSummary? {
        guard let id else { return nil }
        let result = try session.execute(
            """
            SELECT source, status, pages, requests, items_seen, items_stored, items_rejected, errors, error, finished_at IS NOT NULL
            FROM poll_runs WHERE id = $1
            """, [String(id)])
        guard let row = result.rows.first, row[9] == "t" else { return nil }
        var summary = PollRunSummary(source: row[0] ?? "")
        summary.runID = id
        summary.status = PollStatus(rawValue: row[1] ?? "") ?? .running
        summary.pages = Int(row[2] ?? "") ?? -1
        summary.requests = Int(row[3] ?? "") ?? -1
        summary.itemsSeen = Int(row[4] ?? "") ?? -1
        summary.itemsStored = Int(row[5] ?? "") ?? -1
        summary.itemsRejected = Int(row[6] ?? "") ?? -1
        summary.errors = Int(row[7] ?? "") ?? -1
        summary.error = row[8]
        return summary
    }

    /// `external_id → price text` of every stored row of `source`, oldest first.
    func prices(_ server: PollerFakeServer) throws -> [(String, String)] {
        try session.execute(
            "SELECT external_id, price::text FROM competitor_prices WHERE source = $1 ORDER BY id",
            ["http://127.0.0.1:\(server.port)"]
        ).rows.map { ($0[0] ?? "", $0[1] ?? "") }
    }

    func count(_ sql: String, _ parameters: [String?] = []) throws -> Int {
        Int(try session.execute(sql, parameters).scalar ?? "") ?? -1
    }
}
