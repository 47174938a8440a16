extension FixedDecimal: CustomStringConvertible {
    /// Plain decimal text with exactly `scale` fractional digits: `1.50`, `-0.005`, `1000`.
    /// Never exponent notation, so it is valid JSON and valid PostgreSQL `numeric` input.
    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(44)
        appendText(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The most bytes `write(into:at:)` writes: a sign, 39 digits (38, or zeros padding `0.000…` to
    /// the scale) and a point.
    public static let maxTextCount = 41

    /// Appends `description`'s bytes, for writers that build responses without intermediate strings.
    public func appendText(to bytes: inout [UInt8]) {
        emitText { bytes.append($0) }
    }

    /// Writes `description`'s bytes into `text` from `count` on and advances `count` past them, for
    /// writers that fill a buffer of their own. `text` needs room for `maxTextCount` bytes there.
    public func write(into text: UnsafeMutableBufferPointer<UInt8>, at count: inout Int) {
        emitText { byte in
            text[count] = byte
            count += 1
        }
    }

    /// Hands `description`'s bytes to `emit` in order. Always inlined, so that each writer's loop
    /// stores its bytes directly.
    @inline(__always)
    private func emitText(_ emit: (UInt8) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 39) { digits in
            var digitCount = 0
            var magnitude = significand.magnitude
            // Most money fits 64 bits, whose division is far cheaper than 128-bit division.
            while magnitude > UInt128(UInt64.max) {
                let (quotient, remainder) = magnitude.quotientAndRemainder(dividingBy: 10)
                digits[digitCount] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remainder)
                digitCount += 1
                magnitude = quotient
            }
            var small = UInt64(magnitude)
            repeat {
                let (quotient, remainder) = small.quotientAndRemainder(dividingBy: 10)
                digits[digitCount] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remainder)
                digitCount += 1
                small = quotient
            } while small > 0
            while digitCount <= scale {
                digits[digitCount] = UInt8(ascii: "0")
                digitCount += 1
            }
            if significand < 0 { emit(UInt8(ascii: "-")) }
            // The digits were found least significant first.
            for position in stride(from: digitCount - 1, through: 0, by: -1) {
                if position == scale - 1 { emit(UInt8(ascii: ".")) }
                emit(digits[position])
            }
        }
    }

    /// The value rounded half away from zero to `places` digits, then written with exactly that many.
    public func formatted(places: Int) throws(FixedDecimalError) -> String {
        try rounded(places: places).description
    }

    /// The value rounded half away from zero to `places` fractional digits (scale becomes `places`).
    public func rounded(places: Int) throws(FixedDecimalError) -> FixedDecimal {
        try multiplied(by: FixedDecimal(1), roundedTo: places)
    }
}
