/// Builds small JSON documents straight into bytes: the response path writes exact decimals
/// as JSON numbers without going through binary floating point or `String` interpolation.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 128) {
        bytes.reserveCapacity(capacity)
    }

    /// Empties the document and keeps the buffer: a writer reused per answer allocates nothing.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        needsComma = false
    }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray(_ key: String) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// An exact decimal as a JSON number, e.g. `2.25`.
    public mutating func member(_ key: String, _ value: FixedDecimal) {
        self.key(key)
        value.appendText(to: &bytes)
        needsComma = true
    }

    public mutating func member(_ key: String, _ value: Int64) {
        self.key(key)
        appendDigits(value)
        needsComma = true
    }

    // MARK: Keys known to need no escaping

    /// `member(_:_:)` for a key of plain ASCII that needs no escaping (a literal in the code):
    /// its bytes are copied as they are, for the answers written on every request.
    public mutating func member(plainKey key: StaticString, _ value: Int64) {
        self.key(plain: key)
        appendDigits(value)
        needsComma = true
    }

    public mutating func member(plainKey key: StaticString, _ value: FixedDecimal) {
        self.key(plain: key)
        value.appendText(to: &bytes)
        needsComma = true
    }

    private mutating func key(plain key: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// Decimal digits of `value`, without a `String`. A loop of its own rather than `FixedDecimal`'s
    /// writer: ids go into every answer, and 64-bit digits with no point to place cost less.
    private mutating func appendDigits(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for UInt64's 20 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start...]))
        }
    }

    public mutating func member(_ key: String, _ value: String) {
        self.key(key)
        appendString(value)
        needsComma = true
    }

    public mutating func member(_ key: String, _ value: Bool) {
        self.key(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
        needsComma = true
    }

    public mutating func nullMember(_ key: String) {
        self.key(key)
        bytes.append(contentsOf: "null".utf8)
        needsComma = true
    }

    /// A raw, already valid JSON value (for example a number lexeme taken from a database).
    public mutating func rawMember(_ key: String, _ json: String) {
        self.key(key)
        bytes.append(contentsOf: json.utf8)
        needsComma = true
    }

    /// A raw, already valid JSON value as an array element (a reply body reused inside a list).
    public mutating func rawElement(_ json: [UInt8]) {
        separate()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    /// An array element string.
    public mutating func element(_ value: String) {
        separate()
        appendString(value)
        needsComma = true
    }

    /// Starts an object member whose value the caller writes next (`beginObject` / `beginArray`).
    public mutating func key(_ key: String) {
        separate()
        appendString(key)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func appendString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                    hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
                ])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
