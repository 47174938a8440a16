/// The nightly audit's rule: a bid moved too far when `|adjusted − current| > threshold × current`.
///
/// Everything is decided on exact decimals. A bid exactly on the limit (`10.00 → 12.00` at 0.20)
/// is not flagged and one cent past it (`10.00 → 12.01`) is; a binary-floating-point comparison
/// would get such boundaries wrong in both directions. A bid whose current CPC is 0 is flagged as
/// soon as its adjusted CPC is not 0, and its percentage is undefined (`percent == nil`).
///
/// The comparison is done as `|deviation| / current > threshold` on one exact integer division
/// (floor plus "was there a remainder"), not by forming `threshold × current`: that product needs
/// `threshold.scale + current.scale` fractional digits, which for a CPC the bid service accepts
/// (up to 38 decimals) may not fit 38 digits, and the audit must judge every bid it stored.
public struct AuditRule: Sendable, Hashable {
    /// Why a threshold is refused.
    public enum ThresholdError: Error, Sendable, Equatable {
        case negative
        /// Above `maximumThreshold`: no audit means that, and the bound keeps the arithmetic in 128 bits.
        case tooLarge
    }

    /// The allowed deviation as a fraction of the current CPC (`0.20` = 20 %).
    public let threshold: FixedDecimal
    /// Fractional digits of the ratio `|deviation| / current` that decide the flag: at least 5
    /// (percent to 3 places), more when the threshold has more.
    let resolution: Int
    /// `threshold × 10^resolution`, an integer.
    let scaledThreshold: UInt128

    /// The threshold the legacy audit used: 20 %.
    public static let legacyThreshold = FixedDecimal(uncheckedSignificand: 20, scale: 2)
    /// The largest threshold accepted (a hundred million percent).
    public static let maximumThreshold = FixedDecimal(1_000_000)

    /// The legacy audit's rule: flagged beyond 20 %.
    public static let legacy = AuditRule(checkedThreshold: legacyThreshold)

    public init(threshold: FixedDecimal) throws(ThresholdError) {
        guard !threshold.isNegative else { throw .negative }
        guard threshold <= Self.maximumThreshold else { throw .tooLarge }
        self.init(checkedThreshold: threshold)
    }

    private init(checkedThreshold threshold: FixedDecimal) {
        self.threshold = threshold
        resolution = max(5, threshold.scale)
        // ≤ 10^6 × 10^38 would overflow only for 38-decimal thresholds above ~3.4; resolution ==
        // scale then, so the factor is 1 and the significand (< 10^38) fits.
        scaledThreshold = threshold.significand.magnitude * unsignedPowersOfTen[resolution - threshold.scale]
    }

    /// Judges one bid. Throws only when `adjusted − current` needs more than 38 digits (a CPC with
    /// more than 30 decimals next to a large adjusted CPC); callers report such a bid by id.
    public func assess(currentCPC: FixedDecimal, adjustedCPC: FixedDecimal) throws(FixedDecimalError) -> Assessment {
        let deviation = try adjustedCPC - currentCPC
        if currentCPC.isZero || currentCPC.isNegative {
            // threshold × current ≤ 0: any movement exceeds it (and a negative CPC, which the bids
            // table forbids, with any positive threshold).
            let flagged = !deviation.isZero || (currentCPC.isNegative && !threshold.isZero)
            return Assessment(deviation: deviation, isFlagged: flagged, ratio: nil)
        }
        let ratio = Ratio(deviation: deviation, base: currentCPC, digits: resolution)
        return Assessment(deviation: deviation, isFlagged: ratio.exceeds(scaledThreshold), ratio: ratio)
    }

    /// `threshold × current`, the largest difference still accepted, for reports: exact when it
    /// fits 38 digits, otherwise rounded to as many decimals as fit; nil if even that fails.
    public func allowedDeviation(currentCPC: FixedDecimal) -> FixedDecimal? {
        let places = min(threshold.scale + currentCPC.scale, FixedDecimal.maxScale)
        for candidate in stride(from: places, through: 0, by: -1) {
            if let allowed = try? threshold.multiplied(by: currentCPC, roundedTo: candidate) { return allowed }
        }
        return nil
    }

    // MARK: Verdict

    /// The verdict on one bid, with the numbers a report shows next to it.
    public struct Assessment: Sendable, Equatable {
        /// `adjusted − current`, signed and exact.
        public let deviation: FixedDecimal
        public let isFlagged: Bool
        /// `|deviation| / current`; nil when the current CPC is 0 (or negative).
        let ratio: Ratio?

        /// `deviation / current × 100` rounded half away from zero to 2 places; nil when the
        /// current CPC is 0 (undefined) or the percentage does not fit 38 digits.
        public var percent: FixedDecimal? {
            ratio?.percentRounded(negative: deviation.isNegative)
        }

        /// Whether the percentage is undefined because the current CPC is 0 while the bid moved.
        public var isPercentUndefined: Bool {
            ratio == nil && !deviation.isZero
        }

        /// Whether `|deviation| / current × 100 > boundary`, decided exactly (not on the rounded
        /// `percent`, which would put 20.004 % on the wrong side of a 20 % band edge). True for
        /// any moved bid whose current CPC is 0.
        public func percentExceeds(_ boundary: Int) -> Bool {
            guard let ratio else { return !deviation.isZero }
            return ratio.percentExceeds(boundary)
        }
    }

    // MARK: Exact ratio

    /// `|deviation| / base` as its exact floor at `digits` fractional digits plus whether the
    /// division left a remainder: enough to compare exactly with any decimal of at most `digits`
    /// places, and to round the percentage exactly.
    struct Ratio: Sendable, Equatable {
        /// `floor(|deviation| / base × 10^digits)`; meaningless when `overflow`.
        let value: UInt128
        let inexact: Bool
        /// The floor needs more than 128 bits: the ratio exceeds 3.4 × 10^(38 − digits).
        let overflow: Bool
        let digits: Int

        /// `base` must be positive; `digits` in 5...38.
        init(deviation: FixedDecimal, base: FixedDecimal, digits: Int) {
            self.digits = digits
            // |D|/10^sd ÷ C/10^sc × 10^digits = |D| × 10^(sc − sd + digits) ÷ C, and sd ≥ sc
            // (the deviation has the larger scale of its operands), so the exponent ≤ digits ≤ 38.
            let numerator = deviation.significand.magnitude
            let denominator = base.significand.magnitude
            let exponent = base.scale - deviation.scale + digits
            if exponent >= 0 {
                let (scaled, tooBig) = numerator.multipliedReportingOverflow(by: unsignedPowersOfTen[exponent])
                if !tooBig {
                    // The common case (CPCs of a few digits): 64-bit division when both fit, which
                    // is several times cheaper than 128-bit, and far cheaper than 256-by-128.
                    if scaled <= UInt128(UInt64.max), denominator <= UInt128(UInt64.max) {
                        let (quotient, remainder) = UInt64(scaled).quotientAndRemainder(dividingBy: UInt64(denominator))
                        (value, inexact, overflow) = (UInt128(quotient), remainder != 0, false)
                    } else {
                        let (quotient, remainder) = scaled.quotientAndRemainder(dividingBy: denominator)
                        (value, inexact, overflow) = (quotient, remainder != 0, false)
                    }
                    return
                }
                let wide = numerator.multipliedFullWidth(by: unsignedPowersOfTen[exponent])
                guard wide.high < denominator else {
                    (value, inexact, overflow) = (0, false, true)
                    return
                }
                let (quotient, remainder) = denominator.dividingFullWidth(wide)
                (value, inexact, overflow) = (quotient, remainder != 0, false)
            } else {
                let (scaled, tooBig) = denominator.multipliedReportingOverflow(by: unsignedPowersOfTen[-exponent])
                // A divisor beyond 128 bits exceeds any 38-digit numerator: the floor is 0.
                guard !tooBig else {
                    (value, inexact, overflow) = (0, numerator != 0, false)
                    return
                }
                let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: scaled)
                (value, inexact, overflow) = (quotient, remainder != 0, false)
            }
        }

        /// `ratio > limit / 10^digits`.
        func exceeds(_ limit: UInt128) -> Bool {
            overflow || value > limit || (value == limit && inexact)
        }

        /// `ratio × 100 > boundary`.
        func percentExceeds(_ boundary: Int) -> Bool {
            guard boundary >= 0 else { return true }
            let (limit, tooBig) = UInt128(boundary).multipliedReportingOverflow(by: unsignedPowersOfTen[digits - 2])
            // A limit beyond 128 bits (boundaries far above any band) is exceeded only by a ratio that overflowed too.
            if tooBig { return overflow }
            return exceeds(limit)
        }

        /// Hundredths of a percent, half away from zero: the discarded part is at least one half
        /// exactly when the thousandths digit is 5 or more (whatever lies beyond it only adds).
        func percentRounded(negative: Bool) -> FixedDecimal? {
            guard !overflow else { return nil }
            let thousandths = value / unsignedPowersOfTen[digits - 5]
            let hundredths = thousandths / 10 + (thousandths % 10 >= 5 ? 1 : 0)
            guard hundredths <= FixedDecimal.maxSignificand.magnitude else { return nil }
            let signed = Int128(hundredths)
            return FixedDecimal(uncheckedSignificand: negative ? -signed : signed, scale: 2)
        }
    }
}
