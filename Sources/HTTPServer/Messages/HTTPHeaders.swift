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
        // Native strings hand over their bytes directly; comparing those is several times cheaper
        // than stepping two UTF8View iterators, and every request looks up several fields.
        let fast = left.withContiguousStorageIfAvailable { leftBytes in
            right.withContiguousStorageIfAvailable { rightBytes in
                zip(leftBytes, rightBytes).allSatisfy { ASCIICase.lowered($0) == ASCIICase.lowered($1) }
            }
        }
        if let fast, let answer = fast { return answer }
        return zip(left, right).allSatisfy { ASCIICase.lowered($0) == ASCIICase.lowered($1) }
    }
}
