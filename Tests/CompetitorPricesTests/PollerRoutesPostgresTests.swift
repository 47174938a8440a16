import BidCore
import Foundation
import HTTPServer
import HTTPTestSupport
import Postgres
import ServiceTestSupport
import Testing

@testable import CompetitorPrices
@testable import JSONRoutes
@testable import TextFormats

/// `GET /api/competitor-prices` and `/api/competitor-prices/latest` over real sockets against
/// real PostgreSQL, served by a server with just these routes (as `LoopServices` would wire them).
@Suite(.serialized) struct PollerRoutesPostgresTests {
    final class RoutesServer {
        let harness: PollerHarness
        let server: HTTPServer

        init(database: String) throws {
            harness = try PollerHarness(database: database)
            var configuration = HTTPServerConfiguration()
            configuration.port = 0
            configuration.threads = 1
            let connectionString = harness.connectionString
            server = HTTPServer(configuration: configuration) { loop in
                let connection = PostgresConnection(
                    configuration: PostgresConnection.Configuration(connectionString: connectionString),
                    reactor: LoopReactor(loop: loop))
                connection.start()
                var router = Router()
                CompetitorPriceRoutes(connection: connection).register(into: &router)
                return router
            }
            try server.start()
        }

        deinit { server.shutdown(deadline: .seconds(2)) }

        func get(_ path: String) throws -> TestResponse {
            try TestHTTPClient(port: server.boundPort).request("GET", path)
        }

        func insert(
            id: Int, source: String, external: String, product: String?, price: String, at time: String,
            brand: String? = "B"
        ) throws {
            try harness.session.execute(
                """
                INSERT INTO competitor_prices (id, source, external_id, product_id, title, brand, category, price, observed_at)
                VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8)
                """, [String(id), source, external, product, "Title \"\(id)\"", brand, price, time])
        }
    }

    @Test func historyIsNewestFirstExactAndPaged() throws {
        let routes = try RoutesServer(database: "poller_routes_history")
        try routes.insert(
            id: 1, source: "https://a.example", external: "5", product: "5", price: "10.50",
            at: "2025-01-01 10:00:00+00")
        try routes.insert(
            id: 2, source: "https://b.example", external: "x", product: "5", price: "12345678901234567890.01",
            at: "2025-01-02 10:00:00+00", brand: nil)
        try routes.insert(
            id: 3, source: "https://a.example", external: "5", product: "5", price: "9.99", at: "2025-01-03 10:00:00+00"
        )
        try routes.insert(
            id: 4, source: "https://a.example", external: "6", product: "6", price: "1", at: "2025-01-03 10:00:00+00")
        // Rows of one page share their observed_at: the cursor's id keeps paging exact.
        try routes.insert(
            id: 5, source: "https://b.example", external: "y", product: "5", price: "11", at: "2025-01-03 10:00:00+00")

        let all = try routes.get("/api/competitor-prices?product_id=5")
        #expect(all.status == 200)
        #expect(all.header("Content-Type") == "application/json")
        #expect(
            all.text == """
                {"prices":[\
                {"id":5,"source":"https://b.example","external_id":"y","product_id":5,"title":"Title \\"5\\"","brand":"B","category":null,"price":11,"observed_at":"2025-01-03T10:00:00.000000Z"},\
                {"id":3,"source":"https://a.example","external_id":"5","product_id":5,"title":"Title \\"3\\"","brand":"B","category":null,"price":9.99,"observed_at":"2025-01-03T10:00:00.000000Z"},\
                {"id":2,"source":"https://b.example","external_id":"x","product_id":5,"title":"Title \\"2\\"","brand":null,"category":null,"price":12345678901234567890.01,"observed_at":"2025-01-02T10:00:00.000000Z"},\
                {"id":1,"source":"https://a.example","external_id":"5","product_id":5,"title":"Title \\"1\\"","brand":"B","category":null,"price":10.50,"observed_at":"2025-01-01T10:00:00.000000Z"}\
                ],"next":null}
                """)

        var ids: [String] = []
        var path = "/api/competitor-prices?product_id=5&limit=1"
        while true {
            let page = try routes.get(path)
            guard let json = page.json, case .array(let prices)? = json["prices"] else {
                Issue.record("bad page \(page.text)")
                return
            }
            ids += prices.compactMap { if case .number(let id)? = $0["id"] { id } else { nil } }
            guard case .string(let next)? = json["next"] else { break }
            path = "/api/competitor-prices?product_id=5&limit=1&cursor=\(next)"
        }
        #expect(ids == ["5", "3", "2", "1"])

        let window = try routes.get(
            "/api/competitor-prices?product_id=5&since=2025-01-02T00:00:00Z&until=2025-01-03T10:00:00Z")
        #expect(window.json?["prices"].map { if case .array(let rows) = $0 { rows.count } else { -1 } } == 1)
        let everything = try routes.get("/api/competitor-prices?since=2025-01-03T00:00:00%2B00:00")
        guard case .array(let recent)? = everything.json?["prices"] else {
            Issue.record("bad page \(everything.text)")
            return
        }
        #expect(recent.compactMap { if case .number(let id)? = $0["id"] { id } else { nil } } == ["5", "4", "3"])
    }

    @Test func latestIsOnePricePerSourceAndItem() throws {
        let routes = try RoutesServer(database: "poller_routes_latest")
        try routes.insert(
            id: 1, source: "https://a.example", external: "5", product: "5", price: "10.50",
            at: "2025-01-01 10:00:00+00")
        try routes.insert(
            id: 2, source: "https://a.example", external: "5", product: "5", price: "9.99", at: "2025-01-03 10:00:00+00"
        )
        try routes.insert(
            id: 3, source: "https://b.example", external: "x", product: "5", price: "12", at: "2025-01-02 10:00:00+00")
        try routes.insert(
            id: 4, source: "https://b.example", external: "y", product: "6", price: "1", at: "2025-01-04 10:00:00+00")
        let latest = try routes.get("/api/competitor-prices/latest?product_id=5.0")
        #expect(latest.status == 200)
        #expect(
            latest.text == """
                {"product_id":5.0,"prices":[\
                {"id":2,"source":"https://a.example","external_id":"5","product_id":5,"title":"Title \\"2\\"","brand":"B","category":null,"price":9.99,"observed_at":"2025-01-03T10:00:00.000000Z"},\
                {"id":3,"source":"https://b.example","external_id":"x","product_id":5,"title":"Title \\"3\\"","brand":"B","category":null,"price":12,"observed_at":"2025-01-02T10:00:00.000000Z"}\
                ]}
                """)
        #expect(
            try routes.get("/api/competitor-prices/latest?product_id=404").text == #"{"product_id":404,"prices":[]}"#)
    }

    @Test func badParametersAre400NamingTheParameter() throws {
        let routes = try RoutesServer(database: "poller_routes_bad")
        // What `GET /api/bids` hands out as `next`: bound to that listing, refused here.
        let bidsCursor = KeysetCursor(
            listing: .bids, timestamp: try #require(RFC3339Timestamp(parsing: "2025-01-10T00:00:00Z")), id: 3
        ).encoded
        let cases: [(String, String)] = [
            ("/api/competitor-prices?cursor=\(bidsCursor)", "invalid parameter 'cursor'"),
            ("/api/competitor-prices?product_id=abc", "invalid parameter 'product_id': expected a number"),
            ("/api/competitor-prices?since=yesterday", "invalid parameter 'since'"),
            ("/api/competitor-prices?until=2025-02-30T00:00:00Z", "invalid parameter 'until'"),
            ("/api/competitor-prices?limit=0", "invalid parameter 'limit': expected an integer from 1 to 1000"),
            ("/api/competitor-prices?limit=1001", "invalid parameter 'limit'"),
            ("/api/competitor-prices?cursor=bm9wZQ", "invalid parameter 'cursor'"),
            ("/api/competitor-prices/latest", "missing required parameter 'product_id'"),
            ("/api/competitor-prices/latest?product_id=1x", "invalid parameter 'product_id': expected a number"),
        ]
        for (path, message) in cases {
            let response = try routes.get(path)
            #expect(response.status == 400, "\(path)")
            guard case .string(let error)? = response.json?["error"] else {
                Issue.record("\(path): \(response.text)")
                continue
            }
            #expect(error.hasPrefix(message), "\(path): \(error)")
        }
    }
}
