/// How one load run is shaped.
struct LoadPlan: Sendable {
    enum Mode: Sendable, Equatable {
        /// Every connection sends its next request as soon as the previous answer arrives.
        case closed
        /// Requests are scheduled on a timeline at `rate` per second across all connections, and
        /// latency counts from the scheduled time (coordinated omission corrected, as wrk2 does).
        case open(rate: Double)
    }

    var mode: Mode
    var connections: Int
    /// Seconds of load before measuring starts (not counted, not recorded).
    var warmup: Double
    /// Seconds measured.
    var duration: Double
    /// Seconds to wait for answers still in flight once sending stops.
    var drainTimeout: Double = 5
}
