import Foundation

/// SplitMix64: a small, fast generator whose whole sequence follows from one 64-bit seed, so a
/// randomised test that fails can be replayed with the seed it printed.
public struct SeededRandomNumberGenerator: RandomNumberGenerator {
    /// `TEST_RANDOM_SEED` replays a run; otherwise a fresh seed every run.
    public static func seedFromEnvironment() -> UInt64 {
        ProcessInfo.processInfo.environment["TEST_RANDOM_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 0...UInt64.max)
    }

    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
