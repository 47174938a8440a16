extension FixedDecimal: CustomStringConvertible {
    /// Plain decimal text with exactly `scale` fractional digits: `1.50`, `-0.005`, `1000`.
    /// Never exponent notation, so it is valid JSON and valid PostgreSQL `numeric` input.
    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(44)
        appendText(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `description`'s bytes, for writers that build responses without intermediate strings.
    public func appendText(to bytes: inout [UInt8]) {
        // 38 digits, or up to 39 when zeros pad "0.000…": 48 is enough.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buffer in
            var count = 0
            var magnitude = significand.magnitude
            // Most money fits 64 bits, whose division is far cheaper than 128-bit division.
            while magnitude > UInt128(UInt64.max) {
                let (quotient, remainder) = magnitude.quotientAndRemainder(dividingBy: 10)
                buffer[count] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remainder)
                count += 1
                magnitude = quotient
            }
            var small = UInt64(magnitude)
            repeat {
                let (quotient, remainder) = small.quotientAndRemainder(dividingBy: 10)
                buffer[count] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remainder)
                count += 1
                small = quotient
            } while small > 0
            while count <= scale {
                buffer[count] = UInt8(ascii: "0")
                count += 1
            }
            if significand < 0 { bytes.append(UInt8(ascii: "-")) }
            for position in stride(from: count - 1, through: 0, by: -1) {
                if position == scale - 1 { bytes.append(UInt8(ascii: ".")) }
                bytes.append(buffer[position])
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
