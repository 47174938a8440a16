import Testing

@testable import BidService

/// The bulk budget's arithmetic on fake instants: exact values.
struct BulkBudgetTests {
    @Test func aStatementStartsWhileTheBucketIsNotInDebtAndTakesAllItsBids() {
        let start = ContinuousClock.now
        var budget = BulkBudget(rate: 20, capacity: 10, now: start)
        #expect(budget.wait(now: start) == nil)
        budget.spend(25)
        #expect(budget.balance == -15)
        // 15 bids owed at 20 a second.
        #expect(budget.wait(now: start) == .milliseconds(750))
        #expect(budget.wait(now: start + .milliseconds(500)) == .milliseconds(250))
        #expect(budget.wait(now: start + .milliseconds(750)) == nil)
        #expect(budget.balance == 0)
    }

    @Test func aPauseBanksNoMoreThanTheCapacity() {
        let start = ContinuousClock.now
        var budget = BulkBudget(rate: 20, capacity: 10, now: start)
        budget.spend(10)
        #expect(budget.wait(now: start + .seconds(3600)) == nil)
        #expect(budget.balance == 10)
        // Ten years at a hundred million bids a second: full, without overflow.
        var fast = BulkBudget(rate: 100_000_000, capacity: 256, now: start)
        fast.spend(1_000)
        #expect(fast.wait(now: start + .seconds(10 * 365 * 24 * 3600)) == nil)
        #expect(fast.balance == 256)
    }

    /// 3 bids a second is 333,333,333.3 ns a bid: the wait rounds up, nothing drifts.
    @Test func aRateThatDoesNotDivideASecondStaysExact() {
        let start = ContinuousClock.now
        var budget = BulkBudget(rate: 3, capacity: 3, now: start)
        budget.spend(4)
        #expect(budget.wait(now: start) == .nanoseconds(333_333_334))
        var started = 0
        var now = start
        for _ in 0..<3000 {
            now += .milliseconds(1)
            if budget.wait(now: now) == nil {
                budget.spend(1)
                started += 1
            }
        }
        // One bid owed at the start: the bucket is out of debt at 1/3 s, 2/3 s, … and the ninth
        // time at exactly 3 s (the refill is exact; a drift of 1 ns would lose it).
        #expect(started == 9)
    }
}
