import Synchronization

/// Trace and span ids for spans the server makes up itself (a statement's span, a queue wait, a
/// job's steps): never zero, as W3C Trace Context requires, and without a system call each.
///
/// Each id is SplitMix64's output for the next value of a counter that starts from 64 bits of
/// the kernel's randomness: a bijection of the counter, so ids never repeat within a process,
/// and as evenly spread as the random ids the `traceidratio` sampler expects. The loops draw a
/// request's own ids from their pools of random bytes; these are for everything else.
public enum SpanIdentifiers {
    private static let counter = Atomic<UInt64>(0)
    private static let seed: UInt64 = {
        var random = SystemRandomNumberGenerator()
        return random.next()
    }()

    public static func nonZero() -> UInt64 {
        while true {
            let step = counter.wrappingAdd(1, ordering: .relaxed).newValue
            var value = seed &+ step &* 0x9E37_79B9_7F4A_7C15
            value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
            value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
            value ^= value >> 31
            if value != 0 { return value }
        }
    }
}
