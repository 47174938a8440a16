public import HTTPServer

/// A query or path parameter the history routes cannot use. The message always names the
/// parameter, so a client can tell which of several was wrong without guessing.
public struct InvalidParameter: Error, Equatable, Sendable {
    public let name: String
    /// What a valid value looks like, or nil when the parameter is missing.
    public let expected: String?

    public static func missing(_ name: String) -> InvalidParameter {
        InvalidParameter(name: name, expected: nil)
    }

    public static func invalid(_ name: String, expected: String) -> InvalidParameter {
        InvalidParameter(name: name, expected: expected)
    }

    public var message: String {
        guard let expected else { return "missing required parameter '\(name)'" }
        return "invalid parameter '\(name)': expected \(expected)"
    }

    public var response: HTTPResponse { JSONResponse.error(400, message) }
}
