import Foundation
import HTTPTestSupport
import Postgres
import ServiceTestSupport
import Synchronization
import Testing

/// Single bids on a connection of their own: a real server over real PostgreSQL, one loop. A bulk
/// statement held inside PostgreSQL (its trigger waits for an advisory lock the test holds) does
/// not hold up a single bid on the same loop; with `singleBidConnection` off, the loop keeps one
/// connection for both.
@Suite(.serialized) struct SingleBidConnectionPostgresTests {
    private static let holdProduct4040 = """
        CREATE FUNCTION hold_4040() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.product_id = 4040 THEN PERFORM pg_advisory_xact_lock(4040); END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER hold_4040 BEFORE INSERT ON bids FOR EACH ROW EXECUTE FUNCTION hold_4040();
        """

    private static let serviceConnections = """
        SELECT count(*) FROM pg_stat_activity
        WHERE application_name = 'bidengine' AND datname = current_database() AND pid <> pg_backend_pid()
        """

    @Test func aSingleBidIsStoredWhileABulkStatementOnItsLoopIsHeld() throws {
        let harness = try ServiceHarness(database: "single_connection", threads: 1) {
            $0.databaseTimeout = .seconds(30)
        }
        try harness.session.executeScript(Self.holdProduct4040)
        #expect(try harness.postBid(#"{"product_id":1,"current_cpc":2,"target_roas":100}"#).status == 200)
        // The loop's two connections and the idempotency-key sweeper's.
        #expect(try harness.session.execute(Self.serviceConnections).scalar == "3")

        _ = try harness.session.execute("SELECT pg_advisory_lock(4040)")
        let bulkStatus = Mutex<Int?>(nil)
        let bulkDone = DispatchSemaphore(value: 0)
        let port = harness.port
        Thread.detachNewThread {
            let body =
                #"{"bids":[{"product_id":4040,"current_cpc":2,"target_roas":100},"#
                + #"{"product_id":2,"current_cpc":2,"target_roas":100}]}"#
            let status = try? TestHTTPClient(port: port).request(
                "POST", "/api/bids/batch", headers: [("Content-Type", "application/json")], body: Array(body.utf8)
            ).status
            bulkStatus.withLock { $0 = status }
            bulkDone.signal()
        }
        var held = false
        let deadline = ContinuousClock.now + .seconds(10)
        while !held, ContinuousClock.now < deadline {
            held =
                try harness.session.execute(
                    """
                    SELECT count(*) FROM pg_stat_activity
                    WHERE application_name = 'bidengine' AND datname = current_database()
                      AND wait_event_type = 'Lock' AND wait_event = 'advisory'
                    """
                ).scalar == "1"
            if !held { Thread.sleep(forTimeInterval: 0.02) }
        }
        #expect(held)

        let single = try harness.postBid(#"{"product_id":3,"current_cpc":2,"target_roas":100}"#)
        #expect(single.status == 200)
        #expect(bulkStatus.withLock { $0 } == nil)  // still held when the single bid was answered

        _ = try harness.session.execute("SELECT pg_advisory_unlock(4040)")
        #expect(bulkDone.wait(timeout: .now() + 30) == .success)
        #expect(bulkStatus.withLock { $0 } == 200)
        #expect(try harness.count() == 4)
    }

    @Test func withoutItTheLoopKeepsOneConnectionForBoth() throws {
        let harness = try ServiceHarness(database: "single_connection_off", threads: 1) {
            $0.singleBidConnection = false
        }
        #expect(try harness.postBid(#"{"product_id":1,"current_cpc":2,"target_roas":100}"#).status == 200)
        let bulk = try harness.client().request(
            "POST", "/api/bids/batch", headers: [("Content-Type", "application/json")],
            body: Array(#"{"bids":[{"product_id":2,"current_cpc":2,"target_roas":100}]}"#.utf8))
        #expect(bulk.status == 200)
        // The loop's one connection and the idempotency-key sweeper's.
        #expect(try harness.session.execute(Self.serviceConnections).scalar == "2")
        #expect(try harness.count() == 2)
    }
}
