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
                SELECT pid FROM pg_stat_activity WHERE application_name = 'bidengine' AND pid <> pg_backend_pid()
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
}
