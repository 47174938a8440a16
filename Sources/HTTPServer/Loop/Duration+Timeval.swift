internal import Glibc

extension Duration {
    /// libevent takes `timeval`; negative durations clamp to zero (fire at once) rather than
    /// wrapping into a huge delay.
    var timeval: Glibc.timeval {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 else { return Glibc.timeval(tv_sec: 0, tv_usec: 0) }
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
