public import BidCore

/// Why a whole response could not be used as a page of products. Nothing of it is stored.
public enum PageRejection: Error, Sendable, Equatable, CustomStringConvertible {
    case notJSON(JSONError)
    case notAnObject
    case missingField(String)
    case invalidField(String, expected: String)
    /// More elements than a page may hold: a hostile or broken server, not a listing.
    case tooManyProducts(Int, limit: Int)

    public var description: String {
        switch self {
        case .notJSON(let error): return "body is not JSON (\(error))"
        case .notAnObject: return "body is not a JSON object"
        case .missingField(let name): return "missing '\(name)'"
        case .invalidField(let name, let expected): return "invalid '\(name)': expected \(expected)"
        case .tooManyProducts(let count, let limit): return "\(count) products in one page, more than \(limit)"
        }
    }
}
