/// The bid body's usual shape, read straight from its bytes: no `JSONValue` tree, no `String`
/// for members it does not need, each of the three numbers parsed once.
///
/// It accepts only a flat JSON object whose keys and string values are printable ASCII without
/// escapes, and whose values are numbers, such strings, `true`, `false` or `null`: what clients
/// send. Anything else — nesting, escapes, non-ASCII, a syntax error — returns nil, and the caller
/// uses the general parser, which decides (and words) every other case. For the inputs it
/// accepts it gives exactly the general path's answer: the last of duplicate keys wins, numeric
/// strings count as numbers, PHP's `empty()` and the legacy messages in legacy order (the fuzz
/// target `bid-request` checks the two against each other on every input).
public enum FastBidParser {
    /// One member's value, as a range of the body.
    enum Field {
        case absent
        case null
        case bool(Bool)
        case number(Range<Int>)
        case string(Range<Int>)
    }

    /// The three members the legacy rules read (held inline: no allocation).
    struct Fields {
        var productID = Field.absent
        var currentCPC = Field.absent
        var targetROAS = Field.absent
    }

    /// The priced bid or the rejection, or nil when the body needs the general parser.
    public static func parse(_ body: UnsafeBufferPointer<UInt8>) -> Result<PricedBid, BidRejection>? {
        var scanner = Scanner(bytes: body)
        guard let fields = scanner.scanObject() else { return nil }
        return price(fields, in: body)
    }

    /// The legacy rules applied to an object's three members, read from `body`.
    static func price(_ fields: Fields, in body: UnsafeBufferPointer<UInt8>) -> Result<PricedBid, BidRejection> {
        let product = numeric(fields.productID, body)
        return PricedBid.priced(
            productIDIsEmpty: isEmptyInPHP(fields.productID, product, body), productID: product,
            currentCPC: numeric(fields.currentCPC, body), targetROAS: numeric(fields.targetROAS, body))
    }

    private static func numeric(_ field: Field, _ body: UnsafeBufferPointer<UInt8>) -> LegacyValue.Numeric {
        switch field {
        case .number(let range), .string(let range):
            return LegacyValue.numeric(utf8: UnsafeBufferPointer(rebasing: body[range]))
        case .absent, .null, .bool:
            return .notNumeric
        }
    }

    /// `LegacyValue.isEmptyInPHP` for a field.
    private static func isEmptyInPHP(_ field: Field, _ numeric: LegacyValue.Numeric, _ body: UnsafeBufferPointer<UInt8>)
        -> Bool
    {
        switch field {
        case .absent, .null: return true
        case .bool(let flag): return !flag
        case .number:
            if case .value(let value) = numeric { return value.isZero }
            return false
        case .string(let range):
            return range.isEmpty || (range.count == 1 && body[range.lowerBound] == UInt8(ascii: "0"))
        }
    }

    struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        /// The whole body as one object: product_id, current_cpc, target_roas (the last of
        /// duplicates), or nil to use the general parser.
        mutating func scanObject() -> Fields? {
            skipWhitespace()
            guard let fields = scanObjectValue() else { return nil }
            skipWhitespace()
            return index == bytes.count ? fields : nil
        }

        /// One flat object starting at `index`, which ends just after its `}`; nil to use the
        /// general parser.
        mutating func scanObjectValue() -> Fields? {
            var fields = Fields()
            let complete = scanMembers { scanner, key in
                guard let value = scanner.scanValue() else { return false }
                switch Self.slot(of: key, in: scanner.bytes) {
                case 0?: fields.productID = value
                case 1?: fields.currentCPC = value
                case 2?: fields.targetROAS = value
                default: break
                }
                return true
            }
            return complete ? fields : nil
        }

        /// An object's members from `index`, which ends just after its `}`. `member` gets each key
        /// with the scanner at the key's value, reads the value, and returns false to hand the
        /// body to the general parser. False as well on any syntax this scanner does not take.
        mutating func scanMembers(_ member: (inout Scanner, _ key: Range<Int>) -> Bool) -> Bool {
            guard take(UInt8(ascii: "{")) else { return false }
            skipWhitespace()
            if take(UInt8(ascii: "}")) { return true }
            while true {
                skipWhitespace()
                guard take(UInt8(ascii: "\"")), let key = scanPlainString() else { return false }
                skipWhitespace()
                guard take(UInt8(ascii: ":")) else { return false }
                skipWhitespace()
                guard member(&self, key) else { return false }
                skipWhitespace()
                if take(UInt8(ascii: "}")) { return true }
                guard take(UInt8(ascii: ",")) else { return false }
            }
        }

        private static func slot(of key: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
            guard key.count == 10 || key.count == 11 else { return nil }
            let text = UnsafeBufferPointer(rebasing: bytes[key])
            if equals(text, "product_id") { return 0 }
            if equals(text, "current_cpc") { return 1 }
            if equals(text, "target_roas") { return 2 }
            return nil
        }

        static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard bytes.count == count else { return false }
            let expected = literal.utf8Start
            for offset in 0..<count where bytes[offset] != expected[offset] { return false }
            return true
        }

        private mutating func scanValue() -> Field? {
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                index += 1
                return scanPlainString().map { .string($0) }
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return scanNumber().map { .number($0) }
            default: return nil
            }
        }

        /// After the opening quote: printable ASCII up to the closing quote; nil on an escape,
        /// a control character or a non-ASCII byte (the general parser decodes and validates those).
        mutating func scanPlainString() -> Range<Int>? {
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return start..<index - 1
                }
                guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
                index += 1
            }
            return nil
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, as `JSONParser` reads it.
        private mutating func scanNumber() -> Range<Int>? {
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, let first = digit(bytes[index]) else { return nil }
            index += 1
            if first != 0 { skipDigits() }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard skipDigits() else { return nil }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    index += 1
                }
                guard skipDigits() else { return nil }
            }
            return start..<index
        }

        /// True when at least one digit was skipped.
        @discardableResult
        private mutating func skipDigits() -> Bool {
            let start = index
            while index < bytes.count, digit(bytes[index]) != nil { index += 1 }
            return index > start
        }

        private func digit(_ byte: UInt8) -> UInt8? {
            let value = byte &- UInt8(ascii: "0")
            return value < 10 ? value : nil
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let length = word.utf8CodeUnitCount
            guard index + length <= bytes.count,
                Self.equals(UnsafeBufferPointer(rebasing: bytes[index..<index + length]), word)
            else { return false }
            index += length
            return true
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
    }
}
