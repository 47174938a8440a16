/// A request field as the legacy helper saw it after `json_decode($body, true)`.
///
/// PHP's `empty()`, `is_numeric()` and numeric comparisons depend on the PHP type of the value,
/// so validation works on this view rather than on raw JSON.
public enum LegacyValue: Sendable, Equatable {
    /// Absent or JSON `null`.
    case null
    case bool(Bool)
    /// A JSON number, by its lexeme.
    case number(String)
    case string(String)
    /// A JSON array or object (both decode to a PHP array); only emptiness matters to PHP here.
    case array(isEmpty: Bool)

    public init(_ json: JSONValue?) {
        switch json {
        case nil, .null?: self = .null
        case .bool(let flag)?: self = .bool(flag)
        case .number(let lexeme)?: self = .number(lexeme)
        case .string(let text)?: self = .string(text)
        case .array(let elements)?: self = .array(isEmpty: elements.isEmpty)
        case .object(let members)?: self = .array(isEmpty: members.isEmpty)
        }
    }

    /// The exact value when PHP's `is_numeric` is true and the value fits `FixedDecimal`.
    ///
    /// `.unrepresentable` marks values PHP calls numeric but BidEngine cannot hold exactly (more
    /// than 38 digits, `1e400`): BidEngine refuses them rather than compute with a rounded copy.
    public var numeric: Numeric {
        var text: String
        switch self {
        case .number(let lexeme): text = lexeme
        case .string(let string): text = string
        case .null, .bool, .array: return .notNumeric
        }
        return text.withUTF8 { Self.numeric(utf8: $0) }
    }

    /// `numeric` of a number lexeme or string content given as UTF-8.
    public static func numeric(utf8 text: UnsafeBufferPointer<UInt8>) -> Numeric {
        do {
            return .value(try FixedDecimal(parsingUTF8: text))
        } catch .invalidSyntax {
            return .notNumeric
        } catch {
            return .unrepresentable
        }
    }

    /// PHP's `empty()`: null, false, 0 of any spelling as a number, `""`, `"0"`, and `[]`.
    public var isEmptyInPHP: Bool { isEmptyInPHP(numeric: numeric) }

    /// `isEmptyInPHP` when `numeric` is already known.
    func isEmptyInPHP(numeric: Numeric) -> Bool {
        switch self {
        case .null: return true
        case .bool(let flag): return !flag
        case .number:
            if case .value(let value) = numeric { return value.isZero }
            return false
        case .string(let text): return text.isEmpty || text == "0"
        case .array(let isEmpty): return isEmpty
        }
    }

    public enum Numeric: Sendable, Equatable {
        case value(FixedDecimal)
        case notNumeric
        case unrepresentable
    }
}
