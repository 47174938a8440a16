internal import Synchronization

/// Totals across all loops, readable from any thread for draining and metrics.
///
/// Each loop also keeps its own plain counts for its drain decisions; these atomics exist only
/// so that other threads can read the sum without hopping onto every loop.
final class HTTPServerCounters: Sendable {
    let inFlightRequests = Atomic<Int>(0)
    let openConnections = Atomic<Int>(0)
    /// Connections cut off because a request had not arrived whole within `requestTimeout`.
    let requestTimeouts = Atomic<Int>(0)
    /// Connections closed because they sent nothing within `firstByteTimeout`.
    let firstByteTimeouts = Atomic<Int>(0)
    /// Connections closed because their queued replies were not taken within `requestTimeout`.
    let writeTimeouts = Atomic<Int>(0)
    /// Times a connection stopped reading because more than `maxQueuedOutput` waited to be written.
    let outputPauses = Atomic<Int>(0)
    /// The most output any connection has had queued at once, in bytes.
    let largestQueuedOutput = Atomic<Int>(0)
}
