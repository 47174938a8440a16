import Testing

@testable import BidCore

@Suite struct FixedDecimalParsingTests {
    @Test(arguments: [
        ("1.5", "1.5"), ("1.50", "1.50"), ("007", "7"), ("-0", "0"), ("0.000", "0"), (".5", "0.5"),
        ("5.", "5"), ("1e3", "1000"), ("1E2", "100"), ("1.5e2", "150"), ("2E-2", "0.02"), ("+3", "3"),
        (" 12", "12"), ("12 ", "12"), ("\t12\n", "12"), ("\u{0B}1\u{0C}", "1"), ("-1.25", "-1.25"),
        ("0.001e3", "1"), ("1.500e1", "15.00"), ("12345678901234567890", "12345678901234567890"),
        ("1e37", "10000000000000000000000000000000000000"), ("0e999999999", "0"),
        ("1.23456789012345678", "1.23456789012345678"),
    ])
    func parsesPHPNumericStrings(text: String, expected: String) throws {
        #expect(try FixedDecimal(parsing: text).description == expected)
    }

    @Test(arguments: [
        "", " ", ".", "0x1A", "1e", "1e+", "abc", "1 2", "- 1", "--1", "1..2", "١", "1_000", "e5", "+", "1e5x",
    ])
    func rejectsWhatPHPRejects(text: String) {
        #expect(throws: FixedDecimalError.invalidSyntax) { try FixedDecimal(parsing: text) }
    }

    @Test func boundsAreTypedErrorsNotTraps() throws {
        #expect(throws: FixedDecimalError.tooManyDigits) {
            try FixedDecimal(parsing: "123456789012345678901234567890123456789")  // 39 digits
        }
        #expect(throws: FixedDecimalError.outOfRange) { try FixedDecimal(parsing: "1e38") }
        #expect(throws: FixedDecimalError.outOfRange) { try FixedDecimal(parsing: "1e400") }
        #expect(throws: FixedDecimalError.outOfRange) { try FixedDecimal(parsing: "1e-39") }
        #expect(throws: FixedDecimalError.outOfRange) { try FixedDecimal(parsing: "1e-99999999999999") }
        // Trailing zeros give way before the value does.
        #expect(
            try FixedDecimal(parsing: "1." + String(repeating: "0", count: 60)).description == "1."
                + String(repeating: "0", count: 37))
    }

    @Test func writesIntoABufferAfterWhatIsThereAndSaysWhereItStopped() throws {
        let widest = try FixedDecimal(significand: -1, scale: FixedDecimal.maxScale)
        let texts = [
            ("-0." + String(repeating: "0", count: 37) + "1", widest),
            ("12.00", FixedDecimal(1_200, scale: 2)), ("-9223372036854775808", FixedDecimal(Int64.min, scale: 0)),
        ]
        for (expected, value) in texts {
            var written: [UInt8] = []
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 + FixedDecimal.maxTextCount) { text in
                text[0] = UInt8(ascii: "<")
                var count = 1
                value.write(into: text, at: &count)
                text[count] = UInt8(ascii: ">")
                written = Array(text[...count])
            }
            #expect(String(decoding: written, as: UTF8.self) == "<" + expected + ">")
        }
        #expect(widest.description.utf8.count == FixedDecimal.maxTextCount)
    }

    @Test func comparesAcrossScales() throws {
        #expect(try FixedDecimal(parsing: "1.50") == FixedDecimal(parsing: "1.5"))
        #expect(try FixedDecimal(parsing: "-2") < FixedDecimal(parsing: "-1.999"))
        #expect(try FixedDecimal(parsing: "0.000001") > FixedDecimal.zero)
        #expect(
            try FixedDecimal(parsing: "99999999999999999999999999999999999999")
                > FixedDecimal(parsing: "0.99999999999999999999999999999999999999"))
        #expect(Set([try FixedDecimal(parsing: "2.50"), try FixedDecimal(parsing: "2.5")]).count == 1)
    }

    @Test func addsAndSubtractsExactly() throws {
        #expect(try (FixedDecimal(parsing: "0.1") + FixedDecimal(parsing: "0.2")).description == "0.3")
        #expect(try (FixedDecimal(parsing: "12.01") - FixedDecimal(parsing: "10.00")).description == "2.01")
    }
}

@Suite struct FixedDecimalRoundingTests {
    /// `round(a × b / 100, 2)`.
    private func price(_ a: String, _ b: String) throws -> String {
        try FixedDecimal(parsing: a).multiplied(by: FixedDecimal(parsing: b), shiftedRightBy: 2, roundedTo: 2)
            .description
    }

    @Test(arguments: [
        ("1.5", "150", "2.25"), ("999.99", "500", "4999.95"), ("1.234", "123.456", "1.52"),
        ("10", "120.1", "12.01"), ("1.005", "100", "1.01"), ("0.285", "100", "0.29"), ("2.675", "100", "2.68"),
        ("1.015", "100", "1.02"), ("0.125", "100", "0.13"), ("0.124999", "100", "0.12"), ("0", "150", "0.00"),
        ("0.0049", "100", "0.00"), ("0.005", "100", "0.01"), ("3", "100", "3.00"),
        ("12345678901234567890", "100", "12345678901234567890.00"),
        ("0.00000000000000000000000000000000000005", "100", "0.00"),
    ])
    func roundsHalfAwayFromZero(cpc: String, roas: String, expected: String) throws {
        #expect(try price(cpc, roas) == expected)
    }

    @Test func negativeHalvesRoundAwayFromZero() throws {
        #expect(try FixedDecimal(parsing: "-0.125").rounded(places: 2).description == "-0.13")
        #expect(try FixedDecimal(parsing: "-0.124").rounded(places: 2).description == "-0.12")
    }

    @Test func wideProductsStayExact() throws {
        // 38-digit × 38-digit needs the 256-bit path; the result must still be exact.
        let big = "1234567890123456789.0123456789012345678"
        #expect(try price(big, "0.00000000000000000001") == "0.00")
        #expect(try price("99999999999999999999.999999999999999999", "100") == "100000000000000000000.00")
        #expect(throws: FixedDecimalError.outOfRange) { try price("99999999999999999999999999999999999999", "1000") }
    }
}
