/// Why one element of a page's `products` array was not stored. The rest of the page still is.
public struct ItemRejection: Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Error, Sendable, Equatable {
        case notAnObject
        case missingField(String)
        /// Present but of the wrong JSON type, or a value the field cannot take (empty, NUL, too long).
        case invalidField(String, expected: String)
        /// `price` is a number that does not fit an exact decimal (more than 38 digits, say).
        case unrepresentablePrice(String)
        case negativePrice(String)
        /// Above the configured ceiling: a unit mix-up or a placeholder, not a price to compare with.
        case absurdPrice(String, limit: String)
        /// The same id more than once in one page: no way to tell which price is true, so none is kept.
        case duplicateID
        /// Already stored from an earlier page of this run (the listing shifted while being read).
        case seenOnEarlierPage
    }

    /// Position in the page's `products` array (nil for a rejection made after parsing).
    public let index: Int?
    /// The id when it could be read, for the log line.
    public let externalID: String?
    public let reason: Reason

    public init(index: Int?, externalID: String?, reason: Reason) {
        self.index = index
        self.externalID = externalID
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .notAnObject: return "product is not a JSON object"
        case .missingField(let name): return "missing '\(name)'"
        case .invalidField(let name, let expected): return "invalid '\(name)': expected \(expected)"
        case .unrepresentablePrice(let text): return "price \(text) is not representable exactly"
        case .negativePrice(let text): return "negative price \(text)"
        case .absurdPrice(let text, let limit): return "price \(text) is above the limit \(limit)"
        case .duplicateID: return "id appears more than once in the page"
        case .seenOnEarlierPage: return "id already seen on an earlier page of this run"
        }
    }
}
