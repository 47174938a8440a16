/// Validation of a `tracestate` value as the W3C Trace Context recommendation defines it: at
/// most 32 comma-separated `key=value` members (empty members and spaces around commas
/// allowed), keys of lowercase letters, digits and `_ - * /` with at most one `@` (a
/// multi-tenant key), values of printable ASCII without `,` or `=` that do not end in a space,
/// and no key twice. An invalid value is dropped, not repaired.
enum TraceState {
    static let maxMembers = 32

    static func isValid(_ value: String) -> Bool {
        var members = 0
        var keys: Set<Substring> = []
        for rawMember in value.split(separator: ",", omittingEmptySubsequences: false) {
            let member = trimmed(rawMember)
            if member.isEmpty { continue }
            members += 1
            guard members <= maxMembers, let equals = member.firstIndex(of: "=") else { return false }
            let key = member[..<equals]
            let memberValue = member[member.index(after: equals)...]
            guard isValidKey(key), isValidValue(memberValue), keys.insert(key).inserted else { return false }
        }
        return true
    }

    private static func trimmed(_ member: Substring) -> Substring {
        var member = member
        while let first = member.first, first == " " || first == "\t" { member.removeFirst() }
        while let last = member.last, last == " " || last == "\t" { member.removeLast() }
        return member
    }

    private static func isValidKey(_ key: Substring) -> Bool {
        let bytes = key.utf8
        guard let first = bytes.first, (1...256).contains(bytes.count), isLowerAlpha(first) || isDigit(first)
        else { return false }
        var ats = 0
        for byte in bytes {
            if byte == UInt8(ascii: "@") {
                ats += 1
                continue
            }
            guard isLowerAlpha(byte) || isDigit(byte) || "_-*/".utf8.contains(byte) else { return false }
        }
        guard ats <= 1 else { return false }
        if ats == 1 {
            // tenant@system: the system id starts with a letter and has at most 14 characters.
            guard let at = bytes.firstIndex(of: UInt8(ascii: "@")) else { return false }
            let system = bytes[bytes.index(after: at)...]
            guard let head = system.first, isLowerAlpha(head), system.count <= 14,
                bytes.distance(from: bytes.startIndex, to: at) <= 241
            else { return false }
        }
        return true
    }

    private static func isValidValue(_ value: Substring) -> Bool {
        let bytes = value.utf8
        guard (1...256).contains(bytes.count), bytes.last != UInt8(ascii: " ") else { return false }
        return bytes.allSatisfy { byte in
            byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: ",") && byte != UInt8(ascii: "=")
        }
    }

    private static func isLowerAlpha(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
