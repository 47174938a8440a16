import HTTPServer

/// The `Server-Timing` field of a bid answer: `queue;dur=0.41, db;dur=0.62, total;dur=1.15`, in
/// milliseconds. `queue` is the wait for a statement, `db` the statement's round trip with its
/// commit, `total` the request from its handler's start to the answer. A client or a browser's
/// developer tools then see where the time went.
enum ServerTiming {
    static let name = "Server-Timing"

    static func field(_ timing: WriteTiming, since started: ContinuousClock.Instant) -> (String, String) {
        let total = started.duration(to: .now)
        return (
            name,
            "queue;dur=\(milliseconds(timing.queue)), db;dur=\(milliseconds(timing.database)), total;dur=\(milliseconds(total))"
        )
    }

    /// Milliseconds with two decimals (10 µs), from whole nanoseconds: `0.41`, `12.00`.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let hundredths = max(0, (seconds * 1_000_000_000 + attoseconds / 1_000_000_000) / 10_000)
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
