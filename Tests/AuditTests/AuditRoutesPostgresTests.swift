import BidCore
import Foundation
import HTTPServer
import HTTPTestSupport
import Postgres
import ServiceTestSupport
import Testing

@testable import Audit
@testable import JSONRoutes

/// The audit API over real sockets: an HTTP server whose only routes are `AuditRoutes`, each loop
/// with its own non-blocking connection (as the service wires it), over a real database.
@Suite struct AuditRoutesPostgresTests {
    final class Harness {
        let database: AuditTestDatabase
        let server: HTTPServer
        let client: TestHTTPClient

        init(_ name: String) throws {
            database = try AuditTestDatabase(name)
            var configuration = HTTPServerConfiguration()
            configuration.port = 0
            configuration.threads = 1
            let url = database.connectionString
            server = HTTPServer(configuration: configuration) { loop in
                let connection = PostgresConnection(
                    configuration: .init(connectionString: url), reactor: LoopReactor(loop: loop))
                connection.start()
                var router = Router()
                AuditRoutes(connection: connection, reportRowLimit: 1).register(into: &router)
                return router
            }
            try server.start()
            client = try TestHTTPClient(port: server.boundPort)
        }

        deinit {
            server.shutdown(deadline: .seconds(2))
        }

        func get(_ path: String) throws -> TestResponse {
            try client.request("GET", path)
        }

        func audit(_ asOf: String) throws -> AuditRunRecord {
            try database.runner().run(AuditParameters(asOf: AuditTestDatabase.date(asOf)))
        }
    }

    @Test func runsAreListedNewestFirstInPages() throws {
        let harness = try Harness("api_runs")
        try harness.database.insertBids(AuditTestDatabase.legacyBids)
        let runs = try ["2026-06-13T02:00:00Z", "2026-06-15T02:00:00Z", "2026-06-14T02:00:00Z"].map(harness.audit)
        let first = try harness.get("/api/audits?limit=2")
        #expect(first.status == 200)
        #expect(first.header("Content-Type") == "application/json")
        let page = try JSONParser.parse(first.text)
        guard case .array(let listed)? = page["runs"] else {
            Issue.record("no runs: \(first.text)")
            return
        }
        #expect(listed.map { $0["id"] } == [.number(String(runs[1].id)), .number(String(runs[2].id))])
        #expect(listed.first?["bids_flagged"] == .number("2"))
        #expect(page["next_before"] == .string("2026-06-14T02:00:00Z"))
        let second = try JSONParser.parse(harness.get("/api/audits?limit=2&before=2026-06-14T02:00:00Z").text)
        guard case .array(let rest)? = second["runs"] else {
            Issue.record("no runs")
            return
        }
        #expect(rest.map { $0["as_of"] } == [.string("2026-06-13T02:00:00Z")])
        #expect(second["next_before"] == .null)
    }

    @Test func aRunWithItsFlagsPaginatedByBidID() throws {
        let harness = try Harness("api_run")
        let ids = try harness.database.insertBids(AuditTestDatabase.legacyBids)
        let run = try harness.audit("2026-06-15T02:00:00Z")
        let first = try JSONParser.parse(harness.get("/api/audits/\(run.id)?limit=1").text)
        #expect(first["run"]?["status"] == .string("succeeded"))
        #expect(first["run"]?["window"] == .string("7d"))
        guard case .array(let flags)? = first["flags"], case .array(let bands)? = first["bands"],
            case .array(let products)? = first["top_products"]
        else {
            Issue.record("missing members")
            return
        }
        #expect(bands.count == 13)
        #expect(products.count == 2)
        #expect(flags.count == 1)
        #expect(flags.first?["bid_id"] == .number(String(ids[1])))
        #expect(flags.first?["deviation_pct"] == .number("65.00"))
        #expect(first["next_after"] == .number(String(ids[1])))
        let second = try JSONParser.parse(harness.get("/api/audits/\(run.id)?limit=1&after=\(ids[1])").text)
        guard case .array(let more)? = second["flags"] else {
            Issue.record("no flags")
            return
        }
        #expect(more.map { $0["bid_id"] } == [.number(String(ids[3]))])
        #expect(second["next_after"] == .null)
    }

    @Test func latestIsTheNewestSucceededRun() throws {
        let harness = try Harness("api_latest")
        #expect(try harness.get("/api/audits/latest").status == 404)
        try harness.database.insertBids(AuditTestDatabase.legacyBids)
        _ = try harness.audit("2026-06-14T02:00:00Z")
        let newest = try harness.audit("2026-06-15T02:00:00Z")
        // A newer run still in progress is not "latest".
        try harness.database.session.execute(
            """
            INSERT INTO audit_runs (as_of, window_seconds, threshold, triggered_by, status, started_at)
            VALUES ('2026-06-16T02:00:00Z', 604800, 0.20, 'schedule', 'running', now())
            """)
        let latest = try harness.get("/api/audits/latest")
        #expect(latest.status == 200)
        #expect(try JSONParser.parse(latest.text)["run"]?["id"] == .number(String(newest.id)))
    }

    @Test func theHTMLReportIsServedSelfContained() throws {
        let harness = try Harness("api_html")
        try harness.database.insertBids(AuditTestDatabase.legacyBids)
        let run = try harness.audit("2026-06-15T02:00:00Z")
        let response = try harness.get("/api/audits/\(run.id)/report.html")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/html; charset=utf-8")
        #expect(
            response.header("Content-Security-Policy")
                == "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
        #expect(response.text.contains("<svg"))
        #expect(!response.text.contains("<script"))
        // reportRowLimit 1: one flagged bid listed, the other counted.
        #expect(response.text.contains("and 1 more flagged bids"))
    }

    @Test func badParametersAndUnknownRunsAreJSONErrors() throws {
        let harness = try Harness("api_errors")
        let cases: [(String, Int, String)] = [
            ("/api/audits/abc", 400, #"{"error":"invalid parameter 'id': expected a positive integer audit run id"}"#),
            ("/api/audits/0", 400, #"{"error":"invalid parameter 'id': expected a positive integer audit run id"}"#),
            ("/api/audits/99999", 404, #"{"error":"audit run 99999 not found"}"#),
            ("/api/audits/99999/report.html", 404, #"{"error":"audit run 99999 not found"}"#),
            (
                "/api/audits/abc/report.html", 400,
                #"{"error":"invalid parameter 'id': expected a positive integer audit run id"}"#
            ),
            ("/api/audits?limit=0", 400, #"{"error":"invalid parameter 'limit': expected an integer from 1 to 1000"}"#),
            (
                "/api/audits?limit=1001", 400,
                #"{"error":"invalid parameter 'limit': expected an integer from 1 to 1000"}"#
            ),
            (
                "/api/audits?before=yesterday", 400,
                #"{"error":"invalid parameter 'before': expected an RFC 3339 timestamp such as 2026-06-15T02:00:00Z"}"#
            ),
            (
                "/api/audits/1?after=-1", 400,
                #"{"error":"invalid parameter 'after': expected a bid id (the next_after of a previous page)"}"#
            ),
            (
                "/api/audits/1?limit=x", 400,
                #"{"error":"invalid parameter 'limit': expected an integer from 1 to 1000"}"#
            ),
            (
                "/api/audits/latest?after=x", 400,
                #"{"error":"invalid parameter 'after': expected a bid id (the next_after of a previous page)"}"#
            ),
        ]
        for (path, status, body) in cases {
            let response = try harness.get(path)
            #expect(response.status == status, "\(path)")
            #expect(response.text == body, "\(path)")
            #expect(response.header("Content-Type") == "application/json", "\(path)")
        }
    }
}
