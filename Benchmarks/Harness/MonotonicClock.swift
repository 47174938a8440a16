import Glibc

/// Nanosecond readings of `CLOCK_MONOTONIC` (the load generator's timeline, the micro timers) and
/// of the calling thread's CPU clock (what the load generator itself costs).
///
/// Plain integers rather than `ContinuousClock.Instant`: the timeline arithmetic (scheduled send
/// times, windows) is integer nanoseconds throughout, and reading the clock is on the hot loop.
enum MonotonicClock {
    @inline(__always)
    static func now() -> UInt64 {
        read(CLOCK_MONOTONIC)
    }

    static func threadCPUTime() -> UInt64 {
        read(CLOCK_THREAD_CPUTIME_ID)
    }

    @inline(__always)
    private static func read(_ clock: clockid_t) -> UInt64 {
        var time = timespec()
        clock_gettime(clock, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}
