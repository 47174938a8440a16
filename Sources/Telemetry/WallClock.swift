internal import Glibc

/// Unix-epoch nanoseconds, which OTLP timestamps are, for instants of the monotonic clock the
/// server measures with.
public enum WallClock {
    /// Now, in nanoseconds since the Unix epoch.
    public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// `instant` on the wall clock, given the wall clock's reading `wallNow` at monotonic `now`.
    public static func nanoseconds(
        of instant: ContinuousClock.Instant, now: ContinuousClock.Instant = .now, wallNow: UInt64 = now()
    ) -> UInt64 {
        let ago = instant.duration(to: now)
        let (seconds, attoseconds) = ago.components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        return nanoseconds >= 0 ? wallNow &- UInt64(nanoseconds) : wallNow &+ UInt64(-nanoseconds)
    }
}
