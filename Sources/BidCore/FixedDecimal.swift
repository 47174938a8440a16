/// An exact decimal number: `significand / 10^scale`.
///
/// Money and ratios never pass through binary floating point: a value is parsed from its decimal
/// text, kept as a scaled integer, and every operation either gives the exact answer or throws a
/// typed error. 38 significant digits fit in `Int128` with room for sign handling; that bound is
/// what every operation checks instead of trapping.
public struct FixedDecimal: Sendable, Hashable {
    /// The integer whose decimal digits are the number's digits.
    public let significand: Int128
    /// How many of those digits are after the decimal point (0 ... `maxScale`).
    public let scale: Int

    /// At most this many significant digits: `10^38 - 1` is the largest significand.
    public static let maxDigits = 38
    /// At most this many digits after the point.
    public static let maxScale = 38
    static let maxSignificand: Int128 = powerOfTen(38) - 1

    public static let zero = FixedDecimal(uncheckedSignificand: 0, scale: 0)

    /// Creates `significand / 10^scale`, checking both bounds.
    public init(significand: Int128, scale: Int) throws(FixedDecimalError) {
        guard (0...Self.maxScale).contains(scale) else { throw .outOfRange }
        guard significand.magnitude <= Self.maxSignificand.magnitude else { throw .tooManyDigits }
        self.significand = significand
        self.scale = scale
    }

    init(uncheckedSignificand significand: Int128, scale: Int) {
        self.significand = significand
        self.scale = scale
    }

    /// Creates a whole number.
    public init(_ integer: Int) {
        self.init(uncheckedSignificand: Int128(integer), scale: 0)
    }

    /// Creates `significand / 10^scale` from a significand that always fits (at most 19 digits).
    public init(_ significand: Int64, scale: Int) {
        precondition((0...Self.maxScale).contains(scale), "scale \(scale) outside 0...\(Self.maxScale)")
        self.init(uncheckedSignificand: Int128(significand), scale: scale)
    }

    public var isZero: Bool { significand == 0 }
    public var isNegative: Bool { significand < 0 }

    /// `10^exponent` as `Int128`; `exponent` must be in 0...38.
    static func powerOfTen(_ exponent: Int) -> Int128 {
        Int128(unsignedPowersOfTen[exponent])
    }
}

/// Why a decimal could not be parsed or computed exactly.
public enum FixedDecimalError: Error, Sendable, Equatable {
    /// The text is not a number (PHP's `is_numeric` would say false).
    case invalidSyntax
    /// The number has more significant digits than `FixedDecimal.maxDigits`.
    case tooManyDigits
    /// The number is too large, or needs more than `FixedDecimal.maxScale` fractional digits.
    case outOfRange
}

/// `10^0 ... 10^38`, computed once.
let unsignedPowersOfTen: [UInt128] = {
    var powers: [UInt128] = [1]
    for _ in 1...38 { powers.append(powers[powers.count - 1] * 10) }
    return powers
}()
