/// A parsed JSON document that keeps numbers as their exact text.
///
/// Numbers stay lexemes (`"1.50"`, `"1e2"`) so that money is never rounded through binary floating point; the
/// caller decides how to read them (`FixedDecimal(parsing:)`). Object members keep document order
/// and duplicates; lookups take the last one, as PHP's `json_decode` does.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    /// The value of the last member named `key`, if this is an object that has one.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }
}

/// One `"key": value` pair of a JSON object.
public struct JSONMember: Sendable, Equatable {
    public var key: String
    public var value: JSONValue

    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}
