/// A 256-bit unsigned integer as four 64-bit limbs, just wide enough for the product of two
/// 38-digit significands, and only the one operation pricing needs: division by a power of ten
/// with half-away-from-zero rounding.
struct WideUnsigned {
    /// Least significant limb first.
    private var limbs: (UInt64, UInt64, UInt64, UInt64)

    init(_ value: (high: UInt128, low: UInt128)) {
        limbs = (
            UInt64(truncatingIfNeeded: value.low), UInt64(truncatingIfNeeded: value.low >> 64),
            UInt64(truncatingIfNeeded: value.high), UInt64(truncatingIfNeeded: value.high >> 64)
        )
    }

    /// `round(self / 10^exponent)` half away from zero, or `outOfRange` when it exceeds 128 bits.
    ///
    /// Dividing by `10^(exponent-1)` first and looking at the last digit of that quotient decides
    /// the rounding exactly: the discarded fraction is at least one half exactly when that digit
    /// is 5 or more.
    func dividedRoundingHalfAwayFromZero(byPowerOfTen exponent: Int) throws(FixedDecimalError) -> UInt128 {
        precondition(exponent > 0)
        var quotient = self
        var remaining = exponent - 1
        while remaining > 0 && !quotient.isZero {
            let step = min(remaining, 19)
            quotient.divide(by: UInt64(unsignedPowersOfTen[step]))
            remaining -= step
        }
        let lastDigit = quotient.divide(by: 10)
        guard quotient.limbs.2 == 0, quotient.limbs.3 == 0, quotient.limbs != (.max, .max, 0, 0) else {
            throw .outOfRange
        }
        let truncated = UInt128(quotient.limbs.1) << 64 | UInt128(quotient.limbs.0)
        return lastDigit >= 5 ? truncated + 1 : truncated
    }

    private var isZero: Bool { limbs == (0, 0, 0, 0) }

    /// Divides in place by a 64-bit divisor, returning the remainder (schoolbook, high limb first).
    @discardableResult
    private mutating func divide(by divisor: UInt64) -> UInt64 {
        var remainder: UInt64 = 0
        (limbs.3, remainder) = divisor.dividingFullWidth((remainder, limbs.3))
        (limbs.2, remainder) = divisor.dividingFullWidth((remainder, limbs.2))
        (limbs.1, remainder) = divisor.dividingFullWidth((remainder, limbs.1))
        (limbs.0, remainder) = divisor.dividingFullWidth((remainder, limbs.0))
        return remainder
    }
}
