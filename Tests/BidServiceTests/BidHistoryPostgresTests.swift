import BidCore
import Foundation
import HTTPServer
import HTTPTestSupport
import Postgres
import ServiceTestSupport
import Testing

@testable import BidService
@testable import JSONRoutes
@testable import TextFormats

/// `GET /api/bids/{id}` and `GET /api/bids` over real sockets against real PostgreSQL.
@Suite(.serialized) struct BidHistoryPostgresTests {
    // MARK: One bid

    @Test func aFetchedBidIsExactJSON() throws {
        let harness = try BidHistoryHarness(database: "history_exact")
        try harness.insert(
            id: 9001, product: "123", cpc: "1.50", roas: "150", adjusted: "2.25", at: "2025-03-04 05:06:07.123456+00")
        // Digits no Double could carry, and a time given in another zone.
        try harness.insert(
            id: 9002, product: "12.5", cpc: "12345678901234567890.123456789", roas: "0.000000000000000001",
            adjusted: "999999999999999999999999999999999999.99", at: "1999-12-31 23:00:00-05")
        let client = try harness.client()

        let first = try harness.get("/api/bids/9001", client: client)
        #expect(first.status == 200)
        #expect(first.header("Content-Type") == "application/json")
        #expect(
            first.text
                == #"{"bid_id":9001,"product_id":123,"current_cpc":1.50,"target_roas":150,"adjusted_cpc":2.25,"calculated_at":"2025-03-04T05:06:07.123456Z"}"#
        )
        #expect(
            try harness.get("/api/bids/9002", client: client).text == """
                {"bid_id":9002,"product_id":12.5,"current_cpc":12345678901234567890.123456789,"target_roas":0.000000000000000001,\
                "adjusted_cpc":999999999999999999999999999999999999.99,"calculated_at":"2000-01-01T04:00:00.000000Z"}
                """)

        // A bid accepted by POST /api/bid reads back as it was answered and stored.
        let posted = try harness.service.postBid(#"{"product_id":"1e3","current_cpc":"1.50","target_roas":150}"#)
        guard posted.status == 200, case .number(let id)? = posted.json?["bid_id"] else {
            Issue.record("POST /api/bid answered \(posted.status): \(posted.text)")
            return
        }
        let fetched = try harness.get("/api/bids/\(id)", client: client)
        #expect(fetched.status == 200)
        #expect(fetched.json?["bid_id"] == .number(id))
        #expect(fetched.json?["product_id"] == .number("1000"))
        #expect(fetched.json?["current_cpc"] == .number("1.50"))
        #expect(fetched.json?["adjusted_cpc"] == posted.json?["adjusted_cpc"])
        guard case .string(let calculatedAt)? = fetched.json?["calculated_at"] else {
            Issue.record("no calculated_at in \(fetched.text)")
            return
        }
        #expect(calculatedAt.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/) != nil)
        let stored = try harness.session.execute(
            "SELECT calculated_at = $2::timestamptz FROM bids WHERE id = $1", [id, calculatedAt]
        ).scalar
        #expect(stored == "t")
    }

    @Test func theTimestampIsUTCWhateverTheSessionTimeZone() throws {
        let harness = try BidHistoryHarness(database: "history_time_zone")
        try harness.insert(id: 1, product: "1", at: "2025-07-01 00:30:00.5+02")
        try harness.session.execute("SET TIME ZONE 'America/St_Johns'")
        let row = try harness.session.execute(BidHistoryRoutes.bidSQL, ["1"]).rows
        #expect(row.first?.last == "2025-06-30T22:30:00.500000Z")
    }

    @Test func unknownBidsAre404AndBadIDs400() throws {
        let harness = try BidHistoryHarness(database: "history_not_found")
        let client = try harness.client()
        let missing = try harness.get("/api/bids/424242", client: client)
        #expect(missing.status == 404)
        #expect(missing.header("Content-Type") == "application/json")
        #expect(missing.text == #"{"error":"bid not found"}"#)
        #expect(try harness.get("/api/bids/-1", client: client).status == 404)

        for bad in ["abc", "1.5", "1e3", "99999999999999999999", "%20", "0x10"] {
            let response = try harness.get("/api/bids/\(bad)", client: client)
            #expect(response.status == 400, "\(bad)")
            #expect(
                response.text == #"{"error":"invalid parameter 'id': expected an integer bid id (64-bit)"}"#, "\(bad)")
        }
        #expect(try harness.get("/api/bids/", client: client).status == 400)
        #expect(try client.request("DELETE", "/api/bids/1").status == 405)
    }

    // MARK: Pagination

    @Test func threePagesNewestFirstWithTiesSplitAcrossPages() throws {
        let harness = try BidHistoryHarness(database: "history_pages")
        let times: [(Int64, String, String)] = [
            (1, "42", "2025-01-01 00:00:01+00"), (2, "42", "2025-01-01 00:00:02+00"),
            (3, "42", "2025-01-01 00:00:02+00"),
            (4, "42", "2025-01-01 00:00:02+00"), (5, "42", "2025-01-01 00:00:03.5+00"),
            (6, "42", "2025-01-01 00:00:00.000001+00"),
            (7, "42", "2025-01-01 00:00:04+00"), (8, "43", "2025-01-01 00:00:02+00"),
            (9, "43", "2025-01-01 00:00:05+00"),
            (10, "42", "2025-01-01 00:00:02+00"),
        ]
        for (id, product, time) in times { try harness.insert(id: id, product: product, at: time) }
        let client = try harness.client()

        let pages = try collectPages(harness, "/api/bids?product_id=42&limit=3", client: client)
        #expect(pages.map(\.ids) == [[7, 5, 10], [4, 3, 2], [1, 6]])
        #expect(pages.map { $0.next != nil } == [true, true, false])
        #expect(
            pages[0].response.text.hasPrefix(
                #"{"bids":[{"bid_id":7,"product_id":42,"current_cpc":1.00,"target_roas":100,"adjusted_cpc":1.00,"calculated_at":"2025-01-01T00:00:04.000000Z"},"#
            ))
        #expect(pages[2].response.text.hasSuffix(#""calculated_at":"2025-01-01T00:00:00.000001Z"}],"next":null}"#))

        // The same numeric product however it is written; a page that ends exactly at the last
        // row says so (no empty extra page).
        #expect(
            try collectPages(harness, "/api/bids?product_id=4.2e1&limit=4", client: client).map(\.ids) == [
                [7, 5, 10, 4], [3, 2, 1, 6],
            ])
        #expect(try collectPages(harness, "/api/bids?product_id=43", client: client).map(\.ids) == [[9, 8]])
        let none = try harness.get("/api/bids?product_id=44", client: client)
        #expect(none.status == 200)
        #expect(none.text == #"{"bids":[],"next":null}"#)
    }

    @Test func sinceIsInclusiveUntilExclusiveToTheMicrosecond() throws {
        let harness = try BidHistoryHarness(database: "history_window")
        try harness.insert(id: 21, product: "50", at: "2025-06-01 12:00:00.000001+00")
        try harness.insert(id: 22, product: "50", at: "2025-06-01 12:00:00.000002+00")
        try harness.insert(id: 23, product: "50", at: "2025-06-01 12:00:01+00")
        let client = try harness.client()
        func ids(_ query: String) throws -> [Int64] {
            let response = try harness.get("/api/bids?product_id=50&\(query)", client: client)
            #expect(response.status == 200, "\(query): \(response.text)")
            return Page(response).ids
        }
        #expect(try ids("since=2025-06-01T12:00:00.000002Z") == [23, 22])
        #expect(try ids("since=2025-06-01T12:00:00.000001Z") == [23, 22, 21])
        // Finer than a microsecond: the bound is exact, not rounded to the nearest microsecond.
        #expect(try ids("since=2025-06-01T12:00:00.0000011Z") == [23, 22])
        #expect(try ids("until=2025-06-01T12:00:00.000002Z") == [21])
        #expect(try ids("until=2025-06-01T12:00:00.0000020001Z") == [22, 21])
        #expect(try ids("since=2025-06-01T12:00:00.000002Z&until=2025-06-01T12:00:01Z") == [22])
        #expect(try ids("since=2025-06-01T12:00:01Z&until=2025-06-01T12:00:01Z") == [])
        // Offsets, lower-case separators, a space for T, and a '+' that arrived unencoded (a space).
        #expect(try ids("since=2025-06-01T14:00:00.000002%2B02:00") == [23, 22])
        #expect(try ids("since=2025-06-01T14:00:00.000002+02:00") == [23, 22])
        #expect(try ids("until=2025-06-01T07:00:01-05:00") == [22, 21])
        #expect(try ids("since=2025-06-01t12:00:01z") == [23])
        #expect(try ids("since=2025-06-01%2012:00:01Z") == [23])
        // The cursor continues inside the window.
        let first = Page(try harness.get("/api/bids?product_id=50&until=2025-06-01T12:00:01Z&limit=1", client: client))
        #expect(first.ids == [22])
        let second = Page(
            try harness.get(
                "/api/bids?product_id=50&until=2025-06-01T12:00:01Z&limit=1&cursor=\(first.next ?? "")", client: client)
        )
        #expect(second.ids == [21])
        #expect(second.next == nil)
    }

    @Test func limitDefaultsTo100AndAccepts1Through1000() throws {
        let harness = try BidHistoryHarness(database: "history_limits")
        try harness.session.execute(
            """
            INSERT INTO bids (id, product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            SELECT g, 60, 1, 100, 1, timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series(1, 1001) g
            """)
        let client = try harness.client()
        let byDefault = Page(try harness.get("/api/bids?product_id=60", client: client))
        #expect(byDefault.ids == Array((902...1001).reversed()))
        #expect(byDefault.next != nil)
        let one = Page(try harness.get("/api/bids?product_id=60&limit=1", client: client))
        #expect(one.ids == [1001])
        let most = Page(try harness.get("/api/bids?product_id=60&limit=1000", client: client))
        #expect(most.ids == Array((2...1001).reversed()))
        let rest = Page(try harness.get("/api/bids?product_id=60&limit=1000&cursor=\(most.next ?? "")", client: client))
        #expect(rest.ids == [1])
        #expect(rest.next == nil)
        for bad in ["0", "1001", "-1", "abc", "1.5", "", "99999999999999999999"] {
            let response = try harness.get("/api/bids?product_id=60&limit=\(bad)", client: client)
            #expect(response.status == 400, "limit=\(bad)")
            #expect(response.text == #"{"error":"invalid parameter 'limit': expected an integer from 1 to 1000"}"#)
        }
    }

    // MARK: Validation

    @Test func everyBadParameterIs400NamingIt() throws {
        let harness = try BidHistoryHarness(database: "history_validation")
        let client = try harness.client()
        let cursor = { (text: String) in Base64URL.encode(Array(text.utf8)) }
        let cases: [(query: String, parameter: String)] = [
            ("", "product_id"), ("limit=5", "product_id"), ("product_id=", "product_id"),
            ("product_id=abc", "product_id"),
            ("product_id=1%2C5", "product_id"), ("product_id=1&since=yesterday", "since"),
            ("product_id=1&since=", "since"),
            ("product_id=1&since=2025-01-01", "since"), ("product_id=1&since=2025-01-01T00:00:00", "since"),
            ("product_id=1&since=2025-02-29T00:00:00Z", "since"), ("product_id=1&since=2025-01-01T24:00:00Z", "since"),
            ("product_id=1&since=2025-01-01T00:00:00.Z", "since"), ("product_id=1&since=0000-12-31T23:59:59Z", "since"),
            ("product_id=1&since=2025-01-01T00:00:00%2B24:00", "since"), ("product_id=1&until=1735689600", "until"),
            ("product_id=1&until=9999-12-31T23:59:59.9999999Z", "until"), ("product_id=1&limit=x", "limit"),
            ("product_id=1&cursor=x", "cursor"), ("product_id=1&cursor=", "cursor"),
            ("product_id=1&cursor=%2B%2F%3D", "cursor"),
            ("product_id=1&cursor=\(cursor("2025-01-01T00:00:00Z"))", "cursor"),
            ("product_id=1&cursor=\(cursor("yesterday|5"))", "cursor"),
            ("product_id=1&cursor=\(cursor("2025-01-01T00:00:00Z|0"))", "cursor"),
            ("product_id=1&cursor=\(cursor("2025-01-01T00:00:00Z|5|6"))", "cursor"),
        ]
        for (query, parameter) in cases {
            let response = try harness.get("/api/bids?\(query)", client: client)
            #expect(response.status == 400, "\(query)")
            #expect(response.header("Content-Type") == "application/json")
            #expect(
                response.text.hasPrefix(#"{"error":"invalid parameter '\#(parameter)': expected "#)
                    || response.text == #"{"error":"missing required parameter '\#(parameter)'"}"#,
                "\(query): \(response.text)")
        }
        let since = try harness.get("/api/bids?product_id=1&since=yesterday", client: client)
        #expect(
            since.text
                == #"{"error":"invalid parameter 'since': expected an RFC 3339 timestamp such as 2025-01-31T23:59:59Z, years 0001-9999"}"#
        )
        #expect(
            try harness.get("/api/bids", client: client).text == #"{"error":"missing required parameter 'product_id'"}"#
        )
    }

    // MARK: The plan and the failure mode

    /// Every query shape reads the product history index of the partition holding the rows (an ordered index scan that stops at the
    /// limit, or for a product with few rows a bitmap scan of them and a sort of those few), with
    /// the keyset predicate inside the index condition, never a filter.
    ///
    /// One exception needs a setting: for a product holding a large share of all rows, with a
    /// `since`/`until` window, PostgreSQL 15 estimates that walking `bids_calculated_at_idx`
    /// backwards and incrementally sorting ties is cheaper, and that plan degrades badly when the
    /// product has no rows in the window. With `enable_incremental_sort = off` it uses the history
    /// index there too, which is why that case is checked under that setting.
    @Test func theHistoryQueryUsesTheProductHistoryIndex() throws {
        let harness = try BidHistoryHarness(database: "history_plan")
        // A live table's shape: rows in time order, 5,000 products with ~20 bids each, one busy
        // product (7) with 2% of all rows.
        try harness.session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            SELECT CASE WHEN g % 50 = 0 THEN 7 ELSE 100 + g % 5000 END, 1, 100, 1,
                   timestamptz '2025-01-01 00:00:00+00' + g * interval '20 seconds'
            FROM generate_series(1, 100000) g
            """)
        try harness.session.execute("ANALYZE bids")
        let cursor = KeysetCursor(
            listing: .bids, timestamp: RFC3339Timestamp(parsing: "2025-01-10T00:00:00Z")!, id: 38880
        )
        .encoded
        func plan(_ query: String) throws -> String {
            guard case .success(let parsed) = BidHistoryQuery.parse(Self.queryItems(query)) else {
                throw TestFailure("cannot parse \(query)")
            }
            return try harness.session.execute("EXPLAIN " + BidHistoryQuery.sql, parsed.parameters).rows
                .compactMap { $0.first ?? nil }.joined(separator: "\n")
        }
        let shapes = [
            "", "&since=2025-01-05T00:00:00Z&until=2025-01-15T00:00:00Z", "&limit=10&cursor=\(cursor)",
            "&limit=1000&cursor=\(cursor)", "&since=2025-01-05T00:00:00Z&limit=5&cursor=\(cursor)",
        ]
        var cases = ["4242", "99999"].flatMap { product in
            shapes.map { ("RESET enable_incremental_sort", "product_id=\(product)\($0)") }
        }
        cases += shapes.map { ("SET enable_incremental_sort = off", "product_id=7\($0)") }
        for (setting, query) in cases {
            try harness.session.execute(setting)
            let plan = try plan(query)
            // The rows are in the partition that migration 0008 made of the old table.
            #expect(
                plan.contains("Index Scan using bids_legacy_product_history_idx")
                    || plan.contains("Bitmap Index Scan on bids_legacy_product_history_idx"),
                "\(setting); \(query):\n\(plan)")
            #expect(!plan.contains("calculated_at_idx"), "\(setting); \(query):\n\(plan)")
            #expect(
                plan.contains("Index Cond: ((product_id = ") && plan.contains("(ROW(calculated_at, id) < ROW("),
                "\(plan)")
            // Only the empty partitions (a few pages at most) may be read with a filter.
            var scan = ""
            for line in plan.split(separator: "\n") {
                if line.contains("Scan") { scan = String(line) }
                if line.contains("Filter:") {
                    #expect(
                        scan.contains("Seq Scan on bids_p") || scan.contains("Seq Scan on bids_default"),
                        "the keyset condition must be part of the index condition:\n\(plan)")
                }
            }
        }
    }

    @Test func anUnreachableDatabaseIsAFast503WithRetryAfter() throws {
        let server = try BidHistoryHarness.startHistoryServer(
            connectionString: "postgresql://127.0.0.1:1/none?connect_timeout=1")
        defer { server.shutdown(deadline: .seconds(2)) }
        let client = try TestHTTPClient(port: server.boundPort)
        for path in ["/api/bids/1", "/api/bids?product_id=1"] {
            let started = ContinuousClock.now
            let response = try client.request("GET", path)
            #expect(response.status == 503, "\(path): \(response.text)")
            #expect(response.header("Retry-After") == "1")
            #expect(response.text == #"{"error":"database unavailable; retry later"}"#)
            #expect(started.duration(to: .now) < .milliseconds(1500))
        }
        // Validation does not need the database.
        #expect(try client.request("GET", "/api/bids?product_id=x").status == 400)
    }

    // MARK: Helpers

    struct Page {
        let response: TestResponse
        let ids: [Int64]
        let next: String?

        init(_ response: TestResponse) {
            self.response = response
            if case .array(let bids)? = response.json?["bids"] {
                ids = bids.compactMap { bid in
                    if case .number(let id)? = bid["bid_id"] { Int64(id) } else { nil }
                }
            } else {
                ids = []
            }
            if case .string(let next)? = response.json?["next"] { self.next = next } else { next = nil }
        }
    }

    /// Follows `next` until it is null (at most 10 pages).
    func collectPages(_ harness: BidHistoryHarness, _ path: String, client: TestHTTPClient) throws -> [Page] {
        var pages: [Page] = []
        var cursor: String?
        repeat {
            let response = try harness.get(path + (cursor.map { "&cursor=\($0)" } ?? ""), client: client)
            #expect(response.status == 200, "\(response.text)")
            let page = Page(response)
            pages.append(page)
            cursor = page.next
        } while cursor != nil && pages.count < 10
        return pages
    }

    static func queryItems(_ query: String) -> [String: String] {
        var items: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            items[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return items
    }
}
