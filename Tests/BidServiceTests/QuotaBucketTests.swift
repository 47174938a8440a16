import Synchronization
import Testing

@testable import BidService

/// The token bucket's arithmetic on a fake clock: exact values.
struct QuotaBucketTests {
    final class FakeClock: Sendable {
        let start = ContinuousClock.now
        private let offset = Mutex<Duration>(.zero)
        func advance(_ duration: Duration) { offset.withLock { $0 += duration } }
        var now: ContinuousClock.Instant { start + offset.withLock { $0 } }
    }

    @Test func aFullBucketAdmitsTheBurstThenRefillsAtTheRate() {
        let clock = FakeClock()
        let bucket = QuotaBucket(quota: Quota(rate: 10, burst: 30)) { clock.now }
        #expect(bucket.take(25) == .admitted(remaining: 5, fullIn: .milliseconds(2500)))
        #expect(bucket.take(5) == .admitted(remaining: 0, fullIn: .seconds(3)))
        // Empty: one bid accrues every 100 ms.
        #expect(bucket.take(1) == .refused(remaining: 0, retryAfter: .milliseconds(100), exceedsBurst: false))
        clock.advance(.milliseconds(250))
        #expect(bucket.take(3) == .refused(remaining: 2, retryAfter: .milliseconds(50), exceedsBurst: false))
        #expect(bucket.take(2) == .admitted(remaining: 0, fullIn: .milliseconds(2950)))
        // A long pause fills it to the burst, no more.
        clock.advance(.seconds(3600))
        #expect(bucket.take(0) == .admitted(remaining: 30, fullIn: .zero))
    }

    @Test func aRequestLargerThanTheBurstIsRefusedWholeAndTakesNothing() {
        let clock = FakeClock()
        let bucket = QuotaBucket(quota: Quota(rate: 4, burst: 8)) { clock.now }
        #expect(bucket.take(5) == .admitted(remaining: 3, fullIn: .milliseconds(1250)))
        // More than is left: nothing taken, and the wait is until 5 have accrued.
        #expect(bucket.take(5) == .refused(remaining: 3, retryAfter: .milliseconds(500), exceedsBurst: false))
        // More than the burst: never whole; the wait is until the bucket is full.
        #expect(bucket.take(9) == .refused(remaining: 3, retryAfter: .milliseconds(1250), exceedsBurst: true))
        #expect(bucket.take(3) == .admitted(remaining: 0, fullIn: .seconds(2)))
    }

    /// A rate that does not divide a second: 3 bids/s is 333,333,333.3 ns a bid; nothing drifts.
    @Test func aRateThatDoesNotDivideASecondStaysExact() {
        let clock = FakeClock()
        let bucket = QuotaBucket(quota: Quota(rate: 3, burst: 2)) { clock.now }
        #expect(bucket.take(2) == .admitted(remaining: 0, fullIn: .nanoseconds(666_666_667)))
        var admitted = 0
        for _ in 0..<3000 {
            clock.advance(.milliseconds(1))
            if case .admitted = bucket.take(1) { admitted += 1 }
        }
        // 3 s at 3 bids/s, taken as soon as each accrues (never full, so nothing is capped): 9.
        #expect(admitted == 9)
    }

    @Test func wholeSecondsRoundUp() {
        #expect(QuotaGate.wholeSeconds(.zero) == 0)
        #expect(QuotaGate.wholeSeconds(.nanoseconds(1)) == 1)
        #expect(QuotaGate.wholeSeconds(.seconds(2)) == 2)
        #expect(QuotaGate.wholeSeconds(.milliseconds(2001)) == 3)
    }
}
