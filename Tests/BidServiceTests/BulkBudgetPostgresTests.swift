import Foundation
import HTTPTestSupport
import ServiceTestSupport
import Synchronization
import Testing

/// The bulk budget on a real server over real PostgreSQL, one loop: beside single bids, bulk
/// stores no more than its budget allows over the time measured; alone, it is not limited.
@Suite(.serialized) struct BulkBudgetPostgresTests {
    /// 20 bulk bids a second; bulk statements of at most 10 bids beside singles (`MAX_BATCH_SIZE`
    /// 20), so the bucket holds 10.
    private static let rate = 20
    private static let capacity = 10

    private static func harness(_ name: String) throws -> ServiceHarness {
        try ServiceHarness(database: name, threads: 1) {
            $0.bulkRateBesideSingles = rate
            $0.maxBatchSize = 2 * capacity
            $0.databaseTimeout = .seconds(10)
        }
    }

    /// A 10-bid bulk request for product `product`.
    private static func bulk(_ harness: ServiceHarness, product: Int, client: TestHTTPClient) throws -> Int {
        let item = #"{"product_id":\#(product),"current_cpc":2,"target_roas":100}"#
        let body = #"{"bids":["# + Array(repeating: item, count: 10).joined(separator: ",") + "]}"
        return try BulkBidPostgresTests.post(harness, body, client: client).status
    }

    @Test func besideSingleBidsBulkStoresNoMoreThanItsBudget() throws {
        let harness = try Self.harness("bulk_budget_beside")
        let stop = Atomic(false)
        let singles = Atomic(0)
        let singlesDone = DispatchSemaphore(value: 0)
        let port = harness.port
        Thread.detachNewThread {
            defer { singlesDone.signal() }
            guard let client = try? TestHTTPClient(port: port) else { return }
            while !stop.load(ordering: .relaxed) {
                let body = Array(#"{"product_id":1,"current_cpc":2,"target_roas":100}"#.utf8)
                let status = try? client.request(
                    "POST", "/api/bid", headers: [("Content-Type", "application/json")], body: body
                ).status
                if status == 200 { singles.add(1, ordering: .relaxed) }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        while singles.load(ordering: .relaxed) == 0 { Thread.sleep(forTimeInterval: 0.01) }

        let client = try harness.client()
        let started = ContinuousClock.now
        var statuses: [Int] = []
        while started.duration(to: .now) < .seconds(2) {
            statuses.append(try Self.bulk(harness, product: 2, client: client))
        }
        let elapsed = started.duration(to: .now)
        stop.store(true, ordering: .relaxed)
        #expect(singlesDone.wait(timeout: .now() + 10) == .success)

        #expect(statuses.allSatisfy { $0 == 200 })
        let stored = try Int(harness.session.execute("SELECT count(*) FROM bids WHERE product_id = 2").scalar ?? "")
        // The bucket's 10, the rate over the time measured, and the one request that may start in debt.
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let allowed = Self.capacity + Int((Double(Self.rate) * seconds).rounded(.up)) + 10
        #expect(stored == statuses.count * 10)
        #expect((stored ?? 0) > 0)
        #expect((stored ?? .max) <= allowed)
    }

    @Test func aloneBulkIsNotLimited() throws {
        let harness = try Self.harness("bulk_budget_alone")
        let client = try harness.client()
        let started = ContinuousClock.now
        for _ in 0..<10 { #expect(try Self.bulk(harness, product: 2, client: client) == 200) }
        // Under the budget these 100 bids would take at least (100 - 10) / 20 = 4.5 s.
        #expect(started.duration(to: .now) < .seconds(4))
        #expect(try harness.count() == 100)
    }
}
