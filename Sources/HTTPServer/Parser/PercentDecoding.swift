/// Percent-decoding of URL paths and query strings.
///
/// Done in Swift rather than with `evhttp_uridecode`, which mallocs a C string per call; the
/// common case (nothing encoded) returns the input with no work. Malformed escapes are kept
/// literally and invalid UTF-8 is repaired, so decoding never fails.
enum PercentDecoding {
    static func decode(_ text: Substring, plusIsSpace: Bool = false) -> String {
        let needsWork = text.utf8.contains { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }
        guard needsWork else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var index = text.utf8.startIndex
        let end = text.utf8.endIndex
        while index < end {
            let byte = text.utf8[index]
            if byte == UInt8(ascii: "+"), plusIsSpace {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"),
                let first = text.utf8.index(index, offsetBy: 1, limitedBy: end), first < end,
                let second = text.utf8.index(first, offsetBy: 1, limitedBy: end), second < end,
                let high = hexValue(text.utf8[first]), let low = hexValue(text.utf8[second])
            {
                bytes.append(high << 4 | low)
                index = second
            } else {
                bytes.append(byte)
            }
            index = text.utf8.index(after: index)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `a=1&b=x+y&a=2` → ["a": "2", "b": "x y"]; a name without `=` maps to "".
    static func parseQuery(_ query: Substring) -> [String: String] {
        guard !query.isEmpty else { return [:] }
        var result: [String: String] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            if let equals = pair.firstIndex(of: "=") {
                let name = decode(pair[..<equals], plusIsSpace: true)
                result[name] = decode(pair[pair.index(after: equals)...], plusIsSpace: true)
            } else {
                result[decode(pair, plusIsSpace: true)] = ""
            }
        }
        return result
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
