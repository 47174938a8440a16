/// Request header fields in arrival order, looked up without regard to case.
///
/// A request carries a handful of headers, so a linear scan over an array beats building a
/// dictionary for every request.
public struct HTTPHeaders: Sendable {
    /// Every field as (name, value), in arrival order; repeated names stay repeated.
    public var all: [(String, String)]

    public init(_ fields: [(String, String)] = []) {
        all = fields
    }

    /// The first value for `name`, compared case-insensitively (ASCII), or nil.
    public subscript(name: String) -> String? {
        for (key, value) in all where Self.equalIgnoringASCIICase(key, name) {
            return value
        }
        return nil
    }

    static func equalIgnoringASCIICase(_ lhs: some StringProtocol, _ rhs: some StringProtocol) -> Bool {
        let left = lhs.utf8
        let right = rhs.utf8
        guard left.count == right.count else { return false }
        for (a, b) in zip(left, right) where a != b {
            // Header names are ASCII tokens: folding bit 0x20 is only valid for letters.
            let lowerA = (a >= 0x41 && a <= 0x5A) ? a | 0x20 : a
            let lowerB = (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
            if lowerA != lowerB { return false }
        }
        return true
    }
}
