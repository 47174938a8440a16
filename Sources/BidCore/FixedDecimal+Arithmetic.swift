extension FixedDecimal {
    /// `self × other ÷ 10^shift`, rounded half away from zero to `places` fractional digits — the
    /// exact counterpart of PHP's `round($a * ($b / 10**$shift), $places)`.
    ///
    /// The full product of two 38-digit significands needs 256 bits, so it is formed with
    /// `multipliedFullWidth` and divided down without ever losing a digit. Throws `outOfRange`
    /// when the rounded result does not fit `maxDigits`.
    public func multiplied(
        by other: FixedDecimal, shiftedRightBy shift: Int = 0, roundedTo places: Int
    ) throws(FixedDecimalError) -> FixedDecimal {
        precondition((0...Self.maxScale).contains(places) && shift >= 0)
        let negative = (significand < 0) != (other.significand < 0)
        let product = significand.magnitude.multipliedFullWidth(by: other.significand.magnitude)
        // The product's digits are in units of 10^-(scale + other.scale + shift); we want units of 10^-places.
        let excess = scale + other.scale + shift - places
        let magnitude: UInt128
        if excess <= 0 {
            guard product.high == 0, -excess <= Self.maxDigits,
                case (let scaled, let overflow) = product.low.multipliedReportingOverflow(
                    by: unsignedPowersOfTen[-excess]),
                !overflow
            else { throw .outOfRange }
            magnitude = scaled
        } else {
            magnitude = try WideUnsigned(product).dividedRoundingHalfAwayFromZero(byPowerOfTen: excess)
        }
        guard magnitude <= Self.maxSignificand.magnitude else { throw .outOfRange }
        let signed = Int128(magnitude)
        return FixedDecimal(uncheckedSignificand: negative ? -signed : signed, scale: places)
    }

    /// The exact product, at scale `scale + other.scale`.
    public func multiplied(by other: FixedDecimal) throws(FixedDecimalError) -> FixedDecimal {
        guard scale + other.scale <= Self.maxScale else { throw .outOfRange }
        return try multiplied(by: other, roundedTo: scale + other.scale)
    }

    /// The exact sum.
    public static func + (lhs: FixedDecimal, rhs: FixedDecimal) throws(FixedDecimalError) -> FixedDecimal {
        let scale = max(lhs.scale, rhs.scale)
        let (a, b) = (try lhs.significand(atScale: scale), try rhs.significand(atScale: scale))
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw .outOfRange }
        return try FixedDecimal(significand: sum, scale: scale)
    }

    public static prefix func - (value: FixedDecimal) -> FixedDecimal {
        FixedDecimal(uncheckedSignificand: -value.significand, scale: value.scale)
    }

    /// The exact difference.
    public static func - (lhs: FixedDecimal, rhs: FixedDecimal) throws(FixedDecimalError) -> FixedDecimal {
        try lhs + (-rhs)
    }

    public var magnitude: FixedDecimal {
        FixedDecimal(uncheckedSignificand: significand < 0 ? -significand : significand, scale: scale)
    }

    /// The same value at a larger scale (`1.5` at scale 2 is `150`).
    func significand(atScale target: Int) throws(FixedDecimalError) -> Int128 {
        precondition(target >= scale)
        let (scaled, overflow) = significand.multipliedReportingOverflow(by: Self.powerOfTen(target - scale))
        guard !overflow, scaled.magnitude <= Self.maxSignificand.magnitude else { throw .outOfRange }
        return scaled
    }
}

extension FixedDecimal: Comparable {
    /// Exact comparison across scales: both significands are brought to a common scale in 256 bits.
    public static func < (lhs: FixedDecimal, rhs: FixedDecimal) -> Bool {
        compare(lhs, rhs) < 0
    }

    public static func == (lhs: FixedDecimal, rhs: FixedDecimal) -> Bool {
        compare(lhs, rhs) == 0
    }

    public func hash(into hasher: inout Hasher) {
        // Equal values at different scales must hash alike: hash the trailing-zero-free form.
        var significand = self.significand
        var scale = self.scale
        while scale > 0, significand % 10 == 0 {
            significand /= 10
            scale -= 1
        }
        hasher.combine(significand)
        hasher.combine(scale)
    }

    /// -1, 0 or 1.
    static func compare(_ lhs: FixedDecimal, _ rhs: FixedDecimal) -> Int {
        let (lhsNegative, rhsNegative) = (lhs.significand < 0, rhs.significand < 0)
        if lhs.significand == 0 || rhs.significand == 0 || lhsNegative != rhsNegative {
            return lhs.significand.signum() < rhs.significand.signum()
                ? -1
                : lhs.significand.signum() > rhs.significand.signum() ? 1 : 0
        }
        let scale = max(lhs.scale, rhs.scale)
        let a = lhs.significand.magnitude.multipliedFullWidth(by: unsignedPowersOfTen[scale - lhs.scale])
        let b = rhs.significand.magnitude.multipliedFullWidth(by: unsignedPowersOfTen[scale - rhs.scale])
        let magnitudeOrder =
            a.high != b.high ? (a.high < b.high ? -1 : 1) : (a.low < b.low ? -1 : a.low > b.low ? 1 : 0)
        return lhsNegative ? -magnitudeOrder : magnitudeOrder
    }
}
