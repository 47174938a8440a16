import BidCore
import HTTPServer

/// The `Server-Timing` field of a bid answer: `queue;dur=0.41, db;dur=0.62, total;dur=1.15`, in
/// milliseconds. `queue` is the wait for a statement, `db` the statement's round trip with its
/// commit, `total` the request from its handler's start to the answer. A client or a browser's
/// developer tools then see where the time went.
///
/// It is on every answer by default, so the value is written digit by digit into one string:
/// string interpolation of the three figures cost several allocations per answer.
enum ServerTiming {
    static let name = "Server-Timing"

    static func field(_ timing: WriteTiming, since started: ContinuousClock.Instant) -> (String, String) {
        (name, value(queue: timing.queue, database: timing.database, total: started.duration(to: .now)))
    }

    /// `queue;dur=…, db;dur=…, total;dur=…`.
    static func value(queue: Duration, database: Duration, total: Duration) -> String {
        // The three labels (31 bytes) and three figures of at most 20 bytes each.
        String(unsafeUninitializedCapacity: 96) { text in
            var count = 0
            append(queueLabel, to: text, at: &count)
            append(milliseconds: queue, to: text, at: &count)
            append(databaseLabel, to: text, at: &count)
            append(milliseconds: database, to: text, at: &count)
            append(totalLabel, to: text, at: &count)
            append(milliseconds: total, to: text, at: &count)
            return count
        }
    }

    /// Milliseconds with two decimals (10 µs), from whole nanoseconds: `0.41`, `12.00`.
    static func milliseconds(_ duration: Duration) -> String {
        String(unsafeUninitializedCapacity: 21) { text in
            var count = 0
            append(milliseconds: duration, to: text, at: &count)
            return count
        }
    }

    private static let queueLabel: StaticString = "queue;dur="
    private static let databaseLabel: StaticString = ", db;dur="
    private static let totalLabel: StaticString = ", total;dur="

    private static func append(_ label: StaticString, to text: UnsafeMutableBufferPointer<UInt8>, at count: inout Int) {
        label.withUTF8Buffer { bytes in
            for byte in bytes {
                text[count] = byte
                count += 1
            }
        }
    }

    /// Hundredths of a millisecond, written as a decimal with two places: at most 20 bytes.
    private static func append(
        milliseconds duration: Duration, to text: UnsafeMutableBufferPointer<UInt8>, at count: inout Int
    ) {
        let hundredths = max(0, duration.nanoseconds / 10_000)
        FixedDecimal(hundredths, scale: 2).write(into: text, at: &count)
    }
}
