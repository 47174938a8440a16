import BidCore
import Foundation
import Postgres
import ServiceTestSupport
import Synchronization
import Testing

@testable import CompetitorPrices

/// The poller against a fake products server it cannot trust and real PostgreSQL: paging,
/// storage and change detection, each politeness rule and each kind of distrust, with
/// `poll_runs` always agreeing with what was stored.
@Suite(.serialized) struct PollerPostgresTests {
    // MARK: Paging and storage

    @Test func pagesUntilTotalAndTheRunRowMatchesTheSummary() throws {
        let harness = try PollerHarness(database: "poller_paging")
        // 25 items: a remainder page; prices whose digits a Double would not keep.
        let catalog = PollerFakeServer.products(
            (1...25).map { ($0, $0 == 7 ? "19.90" : $0 == 8 ? "0.30000000000000000001" : "\($0).5") })
        let server = try PollerFakeServer(catalog: catalog)
        let summary = try harness.poll(server)
        #expect(summary.status == .ok)
        #expect(
            (
                summary.pages, summary.requests, summary.itemsSeen, summary.itemsStored, summary.itemsRejected,
                summary.errors
            ) == (3, 3, 25, 25, 0, 0))
        #expect(summary.error == nil)
        #expect(try harness.storedRun(summary.runID) == summary)
        #expect(server.requests.map(\.skip) == [0, 10, 20])
        #expect(server.requests.allSatisfy { $0.path == "/products" && $0.limit == 10 })
        #expect(
            server.requests.allSatisfy {
                $0.headers["user-agent"] == "BidEngine/\(PollerConfiguration.version) (+competitor-price-poller)"
            })
        #expect(server.requests.allSatisfy { $0.headers["accept"] == "application/json" })
        let prices = Dictionary(uniqueKeysWithValues: try harness.prices(server))
        #expect(prices.count == 25)
        #expect(prices["7"] == "19.90" && prices["8"] == "0.30000000000000000001" && prices["25"] == "25.5")
        let row = try harness.session.execute(
            "SELECT product_id::text, title, brand, category FROM competitor_prices WHERE external_id = '7'"
        ).rows.first
        #expect(row == ["7", "Product 7", "Brand", "things"])

        // An exact multiple of the page size takes no extra request; an empty listing one request.
        let exact = try PollerFakeServer(catalog: PollerFakeServer.products((1...20).map { ($0, "1") }))
        let exactSummary = try harness.poll(exact)
        #expect(
            exactSummary.status == .ok && exactSummary.pages == 2 && exactSummary.requests == 2
                && exactSummary.itemsStored == 20)
        let empty = try PollerFakeServer(catalog: [])
        let emptySummary = try harness.poll(empty)
        #expect(
            emptySummary.status == .ok && emptySummary.pages == 1 && emptySummary.requests == 1
                && emptySummary.itemsSeen == 0)
        #expect(try harness.storedRun(emptySummary.runID) == emptySummary)
    }

    @Test func aTotalThatChangesMidRunStopsTheRunAndKeepsWhatWasStored() throws {
        let harness = try PollerHarness(database: "poller_total_changes")
        let catalog = PollerFakeServer.products((1...30).map { ($0, "2") })
        let server = try PollerFakeServer { request, _ in
            .json(
                PollerFakeServer.page(
                    catalog, skip: request.skip, limit: request.limit, total: request.skip == 0 ? 30 : 31))
        }
        let summary = try harness.poll(server)
        #expect(summary.status == .partial)
        #expect((summary.pages, summary.requests, summary.itemsStored, summary.errors) == (1, 2, 10, 1))
        #expect(summary.error?.contains("total changed from 30 to 31") == true)
        #expect(try harness.storedRun(summary.runID) == summary)
        #expect(try harness.prices(server).count == 10)
    }

    @Test func pricesAreStoredWhenTheyChangeAndOncePerUTCDay() throws {
        let harness = try PollerHarness(database: "poller_changes")
        let prices = Mutex([(1, "10.0"), (2, "20"), (3, "30"), (4, "40"), (5, "50")])
        let server = try PollerFakeServer { request, _ in
            .json(
                PollerFakeServer.page(
                    PollerFakeServer.products(prices.withLock { $0 }), skip: request.skip, limit: request.limit))
        }
        #expect(try harness.poll(server).itemsStored == 5)
        let unchanged = try harness.poll(server)
        #expect(unchanged.status == .ok && unchanged.itemsSeen == 5 && unchanged.itemsStored == 0)

        // 10.0 → 10.00 is the same price; 20 → 21 is a change.
        prices.withLock {
            $0[0].1 = "10.00"
            $0[1].1 = "21"
        }
        let changed = try harness.poll(server)
        #expect(changed.itemsStored == 1)
        #expect(try harness.prices(server).last! == ("2", "21"))

        // Yesterday's rows: today's first sighting stores every item once more (the heartbeat).
        try harness.session.execute("UPDATE competitor_prices SET observed_at = observed_at - interval '1 day'")
        try harness.session.execute("UPDATE competitor_price_latest SET stored_at = stored_at - interval '1 day'")
        #expect(try harness.poll(server).itemsStored == 5)
        #expect(try harness.poll(server).itemsStored == 0)
        #expect(try harness.count("SELECT count(*) FROM competitor_prices") == 11)
        #expect(try harness.count("SELECT count(DISTINCT observed_at::date) FROM competitor_prices") == 2)
    }

    @Test func theChangeDecisionIsRaceFree() throws {
        let harness = try PollerHarness(database: "poller_race")
        let items = (1...50).map {
            CompetitorItem(externalID: String($0), title: "t", brand: nil, category: nil, price: FixedDecimal($0))
        }
        let connectionString = harness.connectionString
        let runID = try CompetitorPriceStore(connectionString: connectionString).startRun(source: "race")
        // Many writers store the same page at once; each item must be stored exactly once.
        let stored = Mutex(0)
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            do {
                let store = try CompetitorPriceStore(connectionString: connectionString)
                let count = try store.storePage(
                    items, source: "race", counters: PollRunSummary(source: "race"), runID: runID)
                stored.withLock { $0 += count }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(stored.withLock { $0 } == 50)
        #expect(try harness.count("SELECT count(*) FROM competitor_prices WHERE source = 'race'") == 50)
    }

    @Test func theMappingTableDecidesTheProduct() throws {
        let harness = try PollerHarness(database: "poller_mapping")
        let catalog = [
            #"{"id":2,"title":"mapped","price":1}"#, #"{"id":3,"title":"same id","price":1}"#,
            #"{"id":"sku-9","title":"unmapped text id","price":1}"#,
            #"{"id":"sku-10","title":"mapped text id","price":1}"#,
        ]
        let server = try PollerFakeServer(catalog: catalog)
        let source = "http://127.0.0.1:\(server.port)"
        try harness.session.execute(
            "INSERT INTO competitor_product_map (source, external_id, product_id) VALUES ($1, '2', 1002), ($1, 'sku-10', 77.5)",
            [source])
        #expect(try harness.poll(server).itemsStored == 4)
        let rows = try harness.session.execute(
            "SELECT external_id, product_id::text FROM competitor_prices ORDER BY id"
        ).rows
        #expect(rows == [["2", "1002"], ["3", "3"], ["sku-9", nil], ["sku-10", "77.5"]])
    }

    // MARK: Politeness

    @Test func transientFailuresAreRetriedAndRetryAfterIsHonoured() throws {
        let harness = try PollerHarness(database: "poller_retries")
        let catalog = PollerFakeServer.products((1...5).map { ($0, "1") })
        let server = try PollerFakeServer { request, index in
            switch index {
            case 0: return .json(#"{"error":"boom"}"#, status: 500)
            case 1: return .close
            case 2: return .json("{}", status: 429, headers: [("Retry-After", "1")])
            case 3:
                return .json(
                    "{}", status: 503, headers: [("Retry-After", PollerFakeServer.httpDate(secondsFromNow: 2))])
            default: return .json(PollerFakeServer.page(catalog, skip: request.skip, limit: request.limit))
            }
        }
        let summary = try harness.poll(server) { $0.maxAttempts = 5 }
        #expect(summary.status == .ok && summary.itemsStored == 5 && summary.requests == 5 && summary.errors == 0)
        let at = server.requests.map(\.at)
        #expect(at[3] - at[2] >= .seconds(1))
        // An HTTP-date two seconds ahead, truncated to whole seconds: at least one second.
        #expect(at[4] - at[3] >= .seconds(1))
        #expect(at[1] - at[0] < .milliseconds(500))
    }

    @Test func attemptsAreBoundedAndAnswersAreNotRetried() throws {
        let harness = try PollerHarness(database: "poller_give_up")
        let down = try PollerFakeServer { _, _ in .json("{}", status: 503) }
        let summary = try harness.poll(down)
        #expect(summary.status == .failed && summary.requests == 3 && summary.pages == 0 && summary.errors == 1)
        #expect(summary.error == "skip=0: HTTP 503 (gave up after 3 attempts)")
        #expect(try harness.storedRun(summary.runID) == summary)

        let missing = try PollerFakeServer { _, _ in .json(#"{"message":"not found"}"#, status: 404) }
        let notFound = try harness.poll(missing)
        #expect(notFound.status == .failed && notFound.requests == 1 && notFound.error == "skip=0: HTTP 404")

        let moved = try PollerFakeServer { _, _ in
            .json("{}", status: 301, headers: [("Location", "http://elsewhere.example/")])
        }
        let redirected = try harness.poll(moved)
        #expect(redirected.status == .failed && redirected.requests == 1)
        #expect(redirected.error?.contains("redirect to http://elsewhere.example/ not followed") == true)

        let busy = try PollerFakeServer { _, _ in .json("{}", status: 429, headers: [("Retry-After", "3600")]) }
        let tooLong = try harness.poll(busy)
        #expect(tooLong.status == .failed && tooLong.requests == 1)
        #expect(tooLong.error?.contains("retry after 3600.0 seconds, more than the 3.0 seconds limit") == true)
    }

    @Test func hangingAndDrippingServersTimeOut() throws {
        let harness = try PollerHarness(database: "poller_timeouts")
        let hanging = try PollerFakeServer { _, _ in .hang }
        defer { hanging.stop() }
        let started = ContinuousClock.now
        let summary = try harness.poll(hanging) { $0.connectTimeout = .milliseconds(300) }
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(summary.status == .failed && summary.requests == 3)
        #expect(
            summary.error == "skip=0: no response within the connect timeout (0.3 seconds) (gave up after 3 attempts)")

        // Headers, then silence: the read timeout.
        let stalled = try PollerFakeServer { _, _ in .drip(chunk: Array("{".utf8), interval: .seconds(5), count: 1) }
        defer { stalled.stop() }
        let stalledSummary = try harness.poll(stalled) {
            $0.maxAttempts = 1
            $0.readTimeout = .milliseconds(300)
        }
        #expect(stalledSummary.error == "skip=0: body stalled longer than the read timeout (0.3 seconds)")

        // A byte every 100 ms never trips the read timeout; the request timeout ends it.
        let dripping = try PollerFakeServer { _, _ in
            .drip(chunk: Array(" ".utf8), interval: .milliseconds(100), count: 100)
        }
        defer { dripping.stop() }
        let drippingSummary = try harness.poll(dripping) {
            $0.maxAttempts = 1
            $0.requestTimeout = .seconds(1)
        }
        #expect(drippingSummary.error == "skip=0: request took longer than the request timeout (1.0 seconds)")
    }

    @Test func theRateLimitHoldsOnTheWireAcrossSourcesOfOneHost() throws {
        let harness = try PollerHarness(database: "poller_rate")
        let catalog = PollerFakeServer.products((1...60).map { ($0, "1") })
        // Two sources on one host (two ports of 127.0.0.1) share its bucket: 6 + 6 requests.
        let first = try PollerFakeServer(catalog: catalog)
        let second = try PollerFakeServer(catalog: catalog)
        let poller = harness.poller {
            $0.ratePerMinute = 600  // 10 per second
            $0.burst = 2
        }
        let started = ContinuousClock.now
        let summaries = poller.pollAll([
            try CompetitorSource(parsing: "http://127.0.0.1:\(first.port)"),
            try CompetitorSource(parsing: "http://127.0.0.1:\(second.port)"),
        ])
        #expect(summaries.map(\.status) == [.ok, .ok])
        let sent = (first.requests + second.requests).map(\.at).sorted()
        #expect(sent.count == 12)
        // At most burst + rate × t requests in any window of length t (a few ms allowed for the
        // server's view of when each arrived).
        for i in sent.indices {
            for j in sent.indices where j > i {
                let window = (sent[j] - sent[i] + .milliseconds(15)).timeInterval
                #expect(Double(j - i + 1) <= 2 + 10 * window, "requests \(i)…\(j) within \(window) s")
            }
        }
        #expect(ContinuousClock.now - started >= .milliseconds(1000))
    }

    // MARK: Distrust

    @Test func badItemsAndBadPagesAreCountedNeverFatal() throws {
        let harness = try PollerHarness(database: "poller_distrust")
        var catalog = PollerFakeServer.products((1...30).map { ($0, "5") })
        catalog[3] = #"{"id":4,"title":"negative","price":-1}"#
        catalog[4] = #"{"id":5,"title":"absurd","price":99999999}"#
        catalog[5] = #"{"id":6,"title":"text","price":"abc"}"#
        catalog[6] = #"{"id":1,"title":"duplicate of 1","price":5}"#
        let pages = catalog
        let server = try PollerFakeServer { request, _ in
            request.skip == 10
                ? .json("<html>maintenance</html>")
                : .json(PollerFakeServer.page(pages, skip: request.skip, limit: request.limit))
        }
        let summary = try harness.poll(server)
        #expect(summary.status == .partial)
        // Page 1: 10 seen, 4 rejected plus id 1 twice (both copies); page 2 unusable; page 3 fine.
        #expect(
            (
                summary.pages, summary.requests, summary.itemsSeen, summary.itemsRejected, summary.itemsStored,
                summary.errors
            ) == (2, 3, 20, 5, 15, 1))
        #expect(summary.error?.hasPrefix("skip=10: page rejected: body is not JSON") == true)
        #expect(try harness.storedRun(summary.runID) == summary)
        #expect(try harness.prices(server).map(\.0).contains("1") == false)
    }

    @Test func oversizedBodiesAreAbandonedAtTheCap() throws {
        let harness = try PollerHarness(database: "poller_oversized")
        let catalog = PollerFakeServer.products((1...30).map { ($0, "5") })
        let huge =
            #"{"products":[{"id":11,"title":"\#(String(repeating: "x", count: 100_000))","price":1}],"total":30}"#
        let server = try PollerFakeServer { request, _ in
            switch request.skip {
            case 10: return .json(huge)
            case 20:
                return .raw(Array("HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\n{".utf8))
            default: return .json(PollerFakeServer.page(catalog, skip: request.skip, limit: request.limit))
            }
        }
        let summary = try harness.poll(server) { $0.maxConsecutivePageFailures = 5 }
        #expect(summary.status == .partial)
        #expect((summary.pages, summary.requests, summary.itemsStored, summary.errors) == (1, 3, 10, 2))
        #expect(summary.error == "skip=20: body larger than 65536 bytes")
    }

    @Test func oneFailingSourceNeverStopsTheOthers() throws {
        let harness = try PollerHarness(database: "poller_isolation")
        let broken = try PollerFakeServer { _, _ in .raw(Array("this is not HTTP\r\n\r\n".utf8)) }
        let hanging = try PollerFakeServer { _, _ in .hang }
        defer { hanging.stop() }
        let good = try PollerFakeServer(catalog: PollerFakeServer.products((1...12).map { ($0, "3.25") }))
        let summaries = harness.poller {
            $0.maxAttempts = 2
            $0.connectTimeout = .milliseconds(300)
        }.pollAll([
            try CompetitorSource(parsing: "http://127.0.0.1:\(broken.port)"),
            try CompetitorSource(parsing: "http://127.0.0.1:\(hanging.port)"),
            try CompetitorSource(parsing: "http://127.0.0.1:\(good.port)"),
        ])
        #expect(summaries.map(\.status) == [.failed, .failed, .ok])
        #expect(summaries[2].itemsStored == 12)
        for summary in summaries { #expect(try harness.storedRun(summary.runID) == summary) }
    }

    // MARK: One poller per source

    @Test func aSourceBeingPolledElsewhereIsSkippedAndDeadRunsAbandoned() throws {
        let harness = try PollerHarness(database: "poller_lock")
        let server = try PollerFakeServer(catalog: PollerFakeServer.products([(1, "1")]))
        let source = "http://127.0.0.1:\(server.port)"
        let other = try PostgresSession(connectionString: harness.connectionString)
        try other.execute(CompetitorPriceStore.lockSQL, [source])
        let skipped = try harness.poll(server)
        #expect(skipped.status == .skipped && skipped.requests == 0 && server.requests.isEmpty)
        #expect(try harness.storedRun(skipped.runID) == skipped)
        try other.execute(CompetitorPriceStore.unlockSQL, [source])

        // A run left "running" by a process that died is marked abandoned by the next run.
        try harness.session.execute("INSERT INTO poll_runs (source) VALUES ($1)", [source])
        #expect(try harness.poll(server).status == .ok)
        #expect(
            try harness.count("SELECT count(*) FROM poll_runs WHERE source = $1 AND status = 'abandoned'", [source])
                == 1)
    }

    @Test func cancellationEndsARunPromptly() throws {
        let harness = try PollerHarness(database: "poller_cancel")
        let hanging = try PollerFakeServer { _, _ in .hang }
        defer { hanging.stop() }
        let poller = harness.poller {
            $0.connectTimeout = .seconds(30)
            $0.requestTimeout = .seconds(30)
        }
        let cancellation = PollCancellation()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { cancellation.cancel() }
        let started = ContinuousClock.now
        let summary = poller.poll(
            try CompetitorSource(parsing: "http://127.0.0.1:\(hanging.port)"), cancellation: cancellation)
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(summary.status == .cancelled)
        #expect(try harness.storedRun(summary.runID) == summary)
    }
}
