import Testing

@testable import BidCore

@Suite struct AuditRuleTests {
    private func decimal(_ text: String) throws -> FixedDecimal { try FixedDecimal(parsing: text) }

    private func assess(_ current: String, _ adjusted: String, threshold: String = "0.20") throws
        -> AuditRule.Assessment
    {
        try AuditRule(threshold: decimal(threshold)).assess(
            currentCPC: decimal(current), adjustedCPC: decimal(adjusted))
    }

    @Test(arguments: [
        // The legacy audit's own examples.
        ("1.00", "1.10", false), ("2.00", "3.30", true), ("5.00", "7.00", true), ("1.00", "2.00", true),
        // Exactly on the 20 % limit is allowed, one cent past it is not, in both directions.
        ("10.00", "12.00", false), ("10.00", "12.01", true), ("10.00", "8.00", false), ("10.00", "7.99", true),
        // Limits that binary floating point misjudges: 0.1 × 3 ≠ 0.3 in doubles.
        ("0.3", "0.36", false), ("0.3", "0.37", true), ("1.15", "1.38", false), ("1.15", "1.39", true),
        // Current CPC 0: unchanged is fine, anything else is flagged.
        ("0", "0", false), ("0.00", "0.00", false), ("0", "0.01", true),
        // A bid driven to 0 moved by 100 %.
        ("3.00", "0.00", true),
    ])
    func flagsStrictlyBeyondTheThreshold(current: String, adjusted: String, flagged: Bool) throws {
        #expect(try assess(current, adjusted).isFlagged == flagged)
    }

    @Test func reportsDeviationLimitAndPercentExactly() throws {
        let moved = try assess("2.00", "3.30")
        #expect(moved.deviation.description == "1.30")
        #expect(try AuditRule.legacy.allowedDeviation(currentCPC: decimal("2.00"))?.description == "0.4000")
        #expect(moved.percent?.description == "65.00")

        let down = try assess("10.00", "7.99")
        #expect(down.deviation.description == "-2.01")
        #expect(down.percent?.description == "-20.10")

        // 1/3 = 33.333… % and 2/3 = 66.666… %: rounded half away from zero at the hundredth.
        #expect(try assess("3", "4").percent?.description == "33.33")
        #expect(try assess("3", "5").percent?.description == "66.67")
        #expect(try assess("3", "1").percent?.description == "-66.67")
        // 0.125 % → 0.13 % (exact half, away from zero), -0.125 % → -0.13 %.
        #expect(try assess("800", "801").percent?.description == "0.13")
        #expect(try assess("800", "799").percent?.description == "-0.13")
        // Mixed scales: current with 4 decimals, adjusted with 2.
        #expect(try assess("1.2345", "1.50").percent?.description == "21.51")
    }

    @Test func percentIsUndefinedOnlyWhenTheCurrentCPCIsZeroAndTheBidMoved() throws {
        let fromZero = try assess("0", "0.50")
        #expect(fromZero.percent == nil)
        #expect(fromZero.isPercentUndefined)
        #expect(fromZero.percentExceeds(1_000_000))
        let still = try assess("0", "0")
        #expect(still.percent == nil)
        #expect(!still.isPercentUndefined)
        #expect(!still.percentExceeds(0))
    }

    @Test func bandEdgesAreDecidedOnTheExactPercentNotTheRoundedOne() throws {
        // 20.004 % rounds to 20.00 but lies beyond 20.
        let justOver = try assess("2500", "3000.10")
        #expect(justOver.percent?.description == "20.00")
        #expect(justOver.percentExceeds(20))
        #expect(!justOver.percentExceeds(21))
        #expect(try !assess("10.00", "12.00").percentExceeds(20))
        #expect(try assess("10.00", "12.01").percentExceeds(20))
        #expect(try !assess("10.00", "7.00").percentExceeds(30))
        #expect(try assess("10.00", "6.99").percentExceeds(30))
    }

    @Test func otherThresholdsIncludingZero() throws {
        #expect(try assess("10", "10.5", threshold: "0.05").isFlagged == false)
        #expect(try assess("10", "10.51", threshold: "0.05").isFlagged == true)
        #expect(try assess("10", "10.01", threshold: "0").isFlagged == true)
        #expect(try assess("10", "10.00", threshold: "0").isFlagged == false)
        #expect(throws: AuditRule.ThresholdError.negative) { try AuditRule(threshold: FixedDecimal(parsing: "-0.1")) }
        #expect(AuditRule.legacy.threshold.description == "0.20")
    }

    @Test func extremeMagnitudesStayExact() throws {
        // 38-digit values: the percentage needs the 256-bit intermediate.
        let huge = try assess("9999999999999999999999999999999999.99", "19999999999999999999999999999999999.98")
        #expect(huge.isFlagged)
        #expect(huge.percent?.description == "100.00")
        // A tiny base makes the percentage too large for 38 digits: undefined rather than wrong.
        let tiny = try assess("0.00000000000000000000000000000000000001", "0.01")
        #expect(tiny.isFlagged)
        #expect(tiny.percent == nil)
        #expect(tiny.percentExceeds(100))
        // threshold × current would need 40 decimals: the verdict does not need that product.
        let fine = try assess("0.00000000000000000000000000000000000005", "0.00")
        #expect(fine.isFlagged)
        #expect(fine.percent?.description == "-100.00")
        #expect(
            try AuditRule.legacy.allowedDeviation(currentCPC: decimal("0.00000000000000000000000000000000000005"))?
                .description
                == "0.00000000000000000000000000000000000001")
    }

    @Test func thresholdsWithManyDecimalsAreComparedAtTheirOwnPrecision() throws {
        #expect(try assess("1", "1.123456", threshold: "0.123456").isFlagged == false)
        #expect(try assess("1", "1.1234561", threshold: "0.123456").isFlagged == true)
        #expect(try assess("3", "3.370368", threshold: "0.123456").isFlagged == false)
        #expect(throws: AuditRule.ThresholdError.tooLarge) {
            try AuditRule(threshold: FixedDecimal(parsing: "1000000.01"))
        }
    }
}
