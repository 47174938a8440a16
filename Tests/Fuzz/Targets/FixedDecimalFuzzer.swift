import BidCore

/// `fixed-decimal`: decimal text as PHP's `is_numeric` sees it, and arithmetic on what parses.
///
/// Input: `text` or `text|text`; the sum of the bytes picks rounding places and shift. Properties:
/// parsing never traps, both entry points agree, and a naive second reading of the grammar agrees
/// on acceptance, value and error; `parse → description → parse` is the
/// identity (same significand and scale) and `description` is a JSON number; rounding,
/// multiplication, addition and comparison never trap on parsed values and agree with their
/// definitions.
@_cdecl("LLVMFuzzerTestOneInput")
public func fixedDecimalFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    // Places and shift come from the bytes' sum, so every byte stays part of the numbers.
    let control = bytes.reduce(0) { $0 &+ Int($1) }
    let parts = bytes.split(separator: UInt8(ascii: "|"), maxSplits: 1, omittingEmptySubsequences: false)
    let values = parts.map { FixedDecimalFuzzer.parse(UnsafeBufferPointer(rebasing: $0)) }
    let places = control % (FixedDecimal.maxScale + 1)
    let shift = (control / (FixedDecimal.maxScale + 1)) % 5
    for value in values.compactMap({ $0 }) {
        FixedDecimalFuzzer.checkRounding(value, places: places)
    }
    if values.count == 2, let lhs = values[0], let rhs = values[1] {
        FixedDecimalFuzzer.checkPair(lhs, rhs, places: places, shift: shift)
    }
    return 0
}

enum FixedDecimalFuzzer {
    /// Parses through both entry points, checks they agree, and checks the text round trip.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> FixedDecimal? {
        let viaBytes = Result { () throws(FixedDecimalError) in try FixedDecimal(parsingUTF8: bytes) }
        let text = String(decoding: bytes, as: UTF8.self)
        // Only valid UTF-8 round-trips through String unchanged; the byte parser is the reference.
        if Array(text.utf8).elementsEqual(bytes) {
            let viaString = Result { () throws(FixedDecimalError) in try FixedDecimal(parsing: text) }
            fuzzRequire(sameResult(viaBytes, viaString), "String and UTF-8 parsing disagree on \(fuzzEscaped(bytes))")
        }
        checkAgainstReference(bytes, viaBytes)
        guard case .success(let value) = viaBytes else { return nil }
        fuzzRequire((0...FixedDecimal.maxScale).contains(value.scale), "scale \(value.scale) out of range")
        fuzzRequire(value.significand.magnitude < 100_000_000_000_000_000_000_000_000_000_000_000_000, "39 digits")
        let description = value.description
        let again = try? FixedDecimal(parsing: description)
        fuzzRequire(
            again?.significand == value.significand && again?.scale == value.scale,
            "\(fuzzEscaped(bytes)) → \(description) → \(String(describing: again))")
        fuzzRequire(again?.description == description, "description is not stable for \(description)")
        fuzzRequire(
            (try? JSONParser.parse(description)) == .number(description), "\(description) is not a JSON number")
        var appended: [UInt8] = []
        value.appendText(to: &appended)
        fuzzRequire(appended.elementsEqual(description.utf8), "appendText differs from description")
        return value
    }

    /// A second, deliberately naive reading of the same grammar (digits as text, exponent as a
    /// plain integer): the parser must accept exactly what it accepts, with the same value, and
    /// refuse the rest for the documented reason.
    static func checkAgainstReference(
        _ bytes: UnsafeBufferPointer<UInt8>, _ parsed: Result<FixedDecimal, FixedDecimalError>
    ) {
        let whitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C]
        var text = Array(bytes)
        while let first = text.first, whitespace.contains(first) { text.removeFirst() }
        while let last = text.last, whitespace.contains(last) { text.removeLast() }
        var negative = false
        if let first = text.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            negative = first == UInt8(ascii: "-")
            text.removeFirst()
        }
        let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        let mantissaEnd = text.firstIndex { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") } ?? text.count
        let mantissa = text[..<mantissaEnd]
        let pieces = mantissa.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        let integer = Array(pieces[0])
        let fraction = pieces.count > 1 ? Array(pieces[1]) : []
        var exponentText = mantissaEnd < text.count ? Array(text[(mantissaEnd + 1)...]) : nil
        var exponentNegative = false
        if let first = exponentText?.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            exponentNegative = first == UInt8(ascii: "-")
            exponentText?.removeFirst()
        }
        let valid =
            integer.allSatisfy(isDigit) && fraction.allSatisfy(isDigit) && !(integer.isEmpty && fraction.isEmpty)
            && exponentText.map { !$0.isEmpty && $0.allSatisfy(isDigit) } ?? true
        guard valid else {
            fuzzRequire(parsed == .failure(.invalidSyntax), "\(fuzzEscaped(bytes)) is not numeric, parsed as \(parsed)")
            return
        }
        // value = digits × 10^exponent, digits without leading or trailing zeros.
        var digits = (integer + fraction).drop { $0 == UInt8(ascii: "0") }
        var exponent = -fraction.count
        if let exponentText {
            // Anything beyond 7 significant digits is out of range whatever the mantissa (inputs are short).
            let significant = exponentText.drop { $0 == UInt8(ascii: "0") }
            let magnitude =
                significant.count > 7 ? 10_000_000 : Int(String(decoding: significant, as: UTF8.self)) ?? 0
            exponent += exponentNegative ? -magnitude : magnitude
        }
        while digits.last == UInt8(ascii: "0") {
            digits.removeLast()
            exponent += 1
        }
        let expected: Result<(Int128, Int), FixedDecimalError>
        if digits.isEmpty {
            expected = .success((0, 0))
        } else if digits.count > FixedDecimal.maxDigits {
            expected = .failure(.tooManyDigits)
        } else if exponent >= 0 ? digits.count + exponent > FixedDecimal.maxDigits : -exponent > FixedDecimal.maxScale {
            expected = .failure(.outOfRange)
        } else {
            let significand = Int128(String(decoding: digits, as: UTF8.self))!
            expected = .success((negative ? -significand : significand, exponent))
        }
        switch (expected, parsed) {
        case (.success(let (significand, exponent)), .success(let value)):
            // The parser may keep trailing zeros as scale; compare values at the parser's scale.
            let shift = value.scale + exponent
            let scaled =
                (0...FixedDecimal.maxDigits).contains(shift)
                ? significand.multipliedReportingOverflow(by: Int128(UInt128(10).power(shift)))
                : (partialValue: Int128(0), overflow: true)
            fuzzRequire(
                !scaled.overflow && value.significand == scaled.partialValue,
                "\(fuzzEscaped(bytes)) parsed as \(value), expected \(significand)e\(exponent)")
            if value.isZero { fuzzRequire(value.scale == 0, "zero kept scale \(value.scale)") }
        case (.failure(let error), .failure(let actual)):
            fuzzRequire(error == actual, "\(fuzzEscaped(bytes)) refused as \(actual), expected \(error)")
        default:
            fuzzRequire(false, "\(fuzzEscaped(bytes)): parser \(parsed), reference \(expected)")
        }
    }

    static func sameResult(
        _ a: Result<FixedDecimal, FixedDecimalError>, _ b: Result<FixedDecimal, FixedDecimalError>
    ) -> Bool {
        switch (a, b) {
        case (.success(let x), .success(let y)): return x.significand == y.significand && x.scale == y.scale
        case (.failure(let x), .failure(let y)): return x == y
        default: return false
        }
    }

    /// Half away from zero to `places`, checked against integer division of the significand.
    static func checkRounding(_ value: FixedDecimal, places: Int) {
        let rounded = Result { () throws(FixedDecimalError) in try value.rounded(places: places) }
        if places >= value.scale {
            // Exact: only the 38-digit bound can refuse it.
            switch rounded {
            case .success(let result):
                fuzzRequire(result == value && result.scale == places, "\(value) rounded to \(places): \(result)")
            case .failure(let error):
                let digits = String(value.significand.magnitude).count + places - value.scale
                fuzzRequire(error == .outOfRange && digits > FixedDecimal.maxDigits, "\(value) to \(places): \(error)")
            }
            return
        }
        guard case .success(let result) = rounded else {
            fuzzRequire(false, "rounding \(value) to \(places) places failed")
            return
        }
        let divisor = UInt128(10).power(value.scale - places)
        let (quotient, remainder) = value.significand.magnitude.quotientAndRemainder(dividingBy: divisor)
        let expected = remainder * 2 >= divisor ? quotient + 1 : quotient
        fuzzRequire(
            result.scale == places && result.significand.magnitude == expected
                && (expected == 0 || result.isNegative == value.isNegative),
            "\(value) rounded to \(places) places gave \(result)")
        fuzzRequire((try? result.rounded(places: places)) == result, "rounding is not idempotent")
    }

    static func checkPair(_ lhs: FixedDecimal, _ rhs: FixedDecimal, places: Int, shift: Int) {
        // Comparison: a total order consistent with subtraction and hashing.
        let order = (lhs < rhs, lhs == rhs, rhs < lhs)
        fuzzRequire(
            [order.0, order.1, order.2].filter { $0 }.count == 1, "\(lhs) vs \(rhs): not exactly one of <, =, >")
        if lhs == rhs { fuzzRequire(lhs.hashValue == rhs.hashValue, "\(lhs) == \(rhs) but hashes differ") }
        if let difference = try? lhs - rhs {
            fuzzRequire(
                difference.isNegative == order.0 && difference.isZero == order.1, "\(lhs) - \(rhs) = \(difference)")
            if let back = try? difference + rhs { fuzzRequire(back == lhs, "(\(lhs) - \(rhs)) + \(rhs) = \(back)") }
        }
        let sum = try? lhs + rhs
        fuzzRequire(sum == (try? rhs + lhs), "addition is not commutative for \(lhs), \(rhs)")

        // Multiplication: commutative, and the rounded product is the rounding of the exact one.
        let product = try? lhs.multiplied(by: rhs, shiftedRightBy: shift, roundedTo: places)
        let swapped = try? rhs.multiplied(by: lhs, shiftedRightBy: shift, roundedTo: places)
        fuzzRequire(product == swapped && product?.scale == swapped?.scale, "multiplication is not commutative")
        if let exact = try? lhs.multiplied(by: rhs), exact.scale + shift <= FixedDecimal.maxScale {
            let shifted = try! FixedDecimal(significand: exact.significand, scale: exact.scale + shift)
            let reference = try? shifted.rounded(places: places)
            fuzzRequire(
                product == reference && product?.scale == reference?.scale,
                "\(lhs) × \(rhs) / 10^\(shift) to \(places): \(String(describing: product)) vs \(String(describing: reference))"
            )
        }
        // The pricing rule itself: never traps, whatever the signs.
        _ = try? LegacyPriceRules.adjustedCPC(currentCPC: lhs, targetROAS: rhs)
    }
}

extension UInt128 {
    /// `self^exponent`; callers keep it within 128 bits.
    func power(_ exponent: Int) -> UInt128 {
        var result: UInt128 = 1
        for _ in 0..<exponent { result *= self }
        return result
    }
}
