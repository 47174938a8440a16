extension FixedDecimal {
    /// Parses a decimal the way PHP's `is_numeric` accepts strings (PHP 8): optional leading and
    /// trailing whitespace (space, \t, \n, \r, \v, \f), an optional sign, digits with an optional
    /// point (`5.`, `.5`), and an optional exponent (`1e3`, `2E-2`). JSON number lexemes are a subset.
    ///
    /// The value is exact. Trailing zeros are kept as scale (`1.50` has scale 2, as the client
    /// sent it) unless dropping them is the only way to fit `maxDigits` and `maxScale`.
    public init(parsing text: some StringProtocol) throws(FixedDecimalError) {
        var text = String(text)
        // `withUTF8` rethrows untyped errors, so the typed error travels in a Result.
        let parsed = text.withUTF8 { bytes in
            Result { () throws(FixedDecimalError) in try FixedDecimal(parsingUTF8: bytes) }
        }
        self = try parsed.get()
    }

    /// Same as `init(parsing:)` over raw UTF-8 bytes, without building a `String`.
    public init(parsingUTF8 bytes: UnsafeBufferPointer<UInt8>) throws(FixedDecimalError) {
        var scanner = DecimalScanner()
        let parts = try scanner.scan(bytes)
        self = try FixedDecimal(parts)
    }

    private init(_ parts: DecimalScanner.Parts) throws(FixedDecimalError) {
        guard parts.significantDigits > 0 else {
            self = .zero
            return
        }
        guard parts.significantDigits <= Self.maxDigits else { throw .tooManyDigits }
        // value = digits × 10^exponentOfDigits, with `digits` stripped of trailing zeros.
        let exponentOfDigits = parts.trailingZeros + parts.exponent - parts.fractionDigits
        var magnitude = parts.digits
        var digitCount = parts.significantDigits
        var scale: Int
        if exponentOfDigits >= 0 {
            guard digitCount + exponentOfDigits <= Self.maxDigits else { throw .outOfRange }
            magnitude *= unsignedPowersOfTen[exponentOfDigits]
            digitCount += exponentOfDigits
            scale = 0
        } else {
            guard -exponentOfDigits <= Self.maxScale else { throw .outOfRange }
            scale = -exponentOfDigits
        }
        // Give back the fractional zeros the text carried, as far as they fit.
        let receivedScale = max(0, parts.fractionDigits - parts.exponent)
        let zerosBack = min(receivedScale - scale, Self.maxDigits - digitCount, Self.maxScale - scale)
        if zerosBack > 0 {
            magnitude *= unsignedPowersOfTen[zerosBack]
            scale += zerosBack
        }
        let signed = Int128(magnitude)
        self.init(uncheckedSignificand: parts.negative ? -signed : signed, scale: scale)
    }
}

/// Splits numeric text into sign, significant digits, trailing zeros and exponent, checking syntax.
struct DecimalScanner {
    struct Parts {
        var negative = false
        /// The digits from the first to the last non-zero one (valid when `significantDigits <= 38`).
        var digits: UInt128 = 0
        var significantDigits = 0
        /// Zeros after the last non-zero digit.
        var trailingZeros = 0
        /// How many digits the text had after the point.
        var fractionDigits = 0
        var exponent = 0
    }

    private var parts = Parts()
    private var sawDigit = false

    mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>) throws(FixedDecimalError) -> Parts {
        var index = 0
        let end = bytes.count
        while index < end, isPHPWhitespace(bytes[index]) { index += 1 }
        if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            parts.negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        while index < end, let digit = decimalDigit(bytes[index]) {
            take(digit)
            index += 1
        }
        if index < end, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < end, let digit = decimalDigit(bytes[index]) {
                take(digit)
                parts.fractionDigits += 1
                index += 1
            }
        }
        guard sawDigit else { throw .invalidSyntax }
        if index < end, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index = try scanExponent(bytes, from: index + 1)
        }
        while index < end, isPHPWhitespace(bytes[index]) { index += 1 }
        guard index == end else { throw .invalidSyntax }
        return parts
    }

    private mutating func take(_ digit: UInt8) {
        sawDigit = true
        if digit == 0 {
            // A zero before the first significant digit is not a digit of the value.
            if parts.significantDigits > 0 { parts.trailingZeros += 1 }
            return
        }
        let count = parts.significantDigits + parts.trailingZeros + 1
        if count <= FixedDecimal.maxDigits {
            parts.digits = parts.digits * unsignedPowersOfTen[parts.trailingZeros + 1] + UInt128(digit)
        }
        // Past 38 digits only the count matters: the value is rejected as too long.
        parts.significantDigits = count
        parts.trailingZeros = 0
    }

    private mutating func scanExponent(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) throws(FixedDecimalError)
        -> Int
    {
        var index = start
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        guard index < bytes.count, decimalDigit(bytes[index]) != nil else { throw .invalidSyntax }
        var exponent = 0
        while index < bytes.count, let digit = decimalDigit(bytes[index]) {
            // Saturate: an exponent this large is out of range whatever the digits.
            if exponent < 1_000_000 { exponent = exponent * 10 + Int(digit) }
            index += 1
        }
        parts.exponent = negative ? -exponent : exponent
        return index
    }
}

/// The whitespace PHP 8 skips around numeric strings.
@inline(__always)
func isPHPWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C
}

@inline(__always)
func decimalDigit(_ byte: UInt8) -> UInt8? {
    let digit = byte &- UInt8(ascii: "0")
    return digit < 10 ? digit : nil
}
