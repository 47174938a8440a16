import BidCore
import Foundation
import HTTPTestSupport
import Postgres
import ServiceTestSupport
import Testing

/// Every 503 of a bid has its cause in the log: a real server over real PostgreSQL, its log
/// captured. A statement PostgreSQL refuses gives one warning with its SQLSTATE and message; a
/// backend terminated under the service gives the lost connection's line.
@Suite(.serialized) struct DatabaseFailureLogPostgresTests {
    private static let refuse = """
        CREATE FUNCTION refuse_4040() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.product_id = 4040 THEN RAISE EXCEPTION 'refused by test' USING ERRCODE = 'P0001'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_4040 BEFORE INSERT ON bids FOR EACH ROW EXECUTE FUNCTION refuse_4040();
        """

    @Test func aRefusedStatementAndALostConnectionAreLoggedWithTheirCause() throws {
        let captured = CapturedLog()
        let harness = try ServiceHarness(database: "failure_log", threads: 1, logger: captured.logger(level: .warning))
        try harness.session.executeScript(Self.refuse)
        let client = try harness.client()

        let refused = try harness.postBid(#"{"product_id":4040,"current_cpc":2,"target_roas":100}"#, client: client)
        #expect(refused.status == 503)
        let statementLines = captured.all.filter { $0.message == "database statement failed" }
        #expect(statementLines.count == 1)
        let loop = statementLines.first?.metadata["loop"] ?? ""
        #expect(!loop.isEmpty)
        #expect(
            statementLines.first
                == .init(
                    level: .warning, message: "database statement failed",
                    metadata: [
                        "loop": loop, "statement": "bid insert", "bids": "1", "kind": "query", "sqlstate": "P0001",
                        "error": "ERROR:  refused by test\nCONTEXT:  PL/pgSQL function refuse_4040() line 3 at RAISE",
                    ]))
        #expect(
            try harness.postBid(#"{"product_id":1,"current_cpc":2,"target_roas":100}"#, client: client).status == 200)

        let terminated = try harness.session.execute(
            """
            SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM (
                SELECT pid FROM pg_stat_activity
                WHERE application_name = 'bidengine' AND datname = current_database() AND pid <> pg_backend_pid()
            ) AS service
            """
        ).scalar
        #expect(terminated == "3")  // the loop's two (bulk groups, single bids) and the idempotency-key sweeper's
        let deadline = ContinuousClock.now + .seconds(10)
        var lost: CapturedLog.Record?
        while lost == nil, ContinuousClock.now < deadline {
            lost = captured.all.first { $0.message == "database connection failed" }
            if lost == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        #expect(lost?.level == .warning)
        #expect(lost?.metadata["loop"] == loop)
        #expect(lost?.metadata["kind"] == "connection")
        // libpq reads the server's FATAL as a notice on an idle connection, then the end of the socket.
        let cause = lost?.metadata["error"] ?? ""
        #expect(
            cause.hasPrefix("connection lost: ")
                && (cause.contains("server closed the connection unexpectedly")
                    || cause.contains("terminating connection due to administrator command")),
            "\(cause)")
    }

    /// Reads that fail for good (a 500) count against the same limit as the write path's
    /// failures: a broken schema cannot flood the log through the read routes either. A failed
    /// read gives two lines, the statement's (from the loop's read router) and the route's (what
    /// it read, with the request's trace ids), and both count.
    @Test func failedReadsShareTheWritePathsRateLimit() throws {
        let captured = CapturedLog()
        let harness = try ServiceHarness(
            database: "failure_log_reads", threads: 1, logger: captured.logger(level: .warning))
        try harness.session.executeScript(Self.refuse)
        try harness.session.execute("ALTER TABLE competitor_prices RENAME TO competitor_prices_gone")
        try harness.session.execute("ALTER TABLE audit_runs RENAME TO audit_runs_gone")
        let client = try harness.client()

        for _ in 0..<3 {
            let response = try client.request("GET", "/api/audits")
            #expect(response.status == 500)
            #expect(response.json?["error"] == .string("internal error reading audits"))
        }
        for _ in 0..<9 {
            let response = try client.request("GET", "/api/competitor-prices/latest?product_id=1")
            #expect(response.status == 500)
            #expect(response.json?["error"] == .string("internal error reading competitor prices"))
        }
        let refused = try harness.postBid(#"{"product_id":4040,"current_cpc":2,"target_roas":100}"#, client: client)
        #expect(refused.status == 503)

        let statement = "database statement failed"
        let databaseLines = captured.all.filter { $0.metadata["sqlstate"] != nil }
        #expect(
            databaseLines.map(\.message)
                == Array(repeating: [statement, "query failed reading audits"], count: 3).flatMap { $0 }
                + Array(repeating: [statement, "query failed reading competitor prices"], count: 2).flatMap { $0 })
        let routeLines = captured.all.filter { $0.message.hasPrefix("query failed reading") }
        #expect(routeLines.allSatisfy { $0.level == .error && $0.metadata["sqlstate"] == "42P01" })
        #expect(routeLines.allSatisfy { $0.metadata["kind"] == "query" && $0.metadata["trace_id"]?.count == 32 })

        // The interval's summary counts what was not logged: seven reads, two lines each, and the bid.
        let deadline = ContinuousClock.now + .seconds(20)
        var summary: CapturedLog.Record?
        while summary == nil, ContinuousClock.now < deadline {
            summary = captured.all.first { $0.message == "database failures suppressed" }
            if summary == nil { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(summary?.metadata["suppressed"] == "15")
        #expect(summary?.metadata["bids"] == "1")
        #expect(summary?.metadata["logged"] == "10")
    }
}
