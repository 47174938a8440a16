import Foundation
import HTTPServer
import ServiceSupport

/// Bearer keys for `/api/*`, from `BIDENGINE_API_KEYS` (comma-separated) or the file named by
/// `BIDENGINE_API_KEYS_FILE` (comma- or newline-separated, for Kubernetes secrets).
///
/// Keys are compared in constant time against every configured key, so neither the position of
/// the first wrong byte nor which key matched shows in the timing. Keys are never logged.
public struct APIKeys: Sendable {
    private let keys: [[UInt8]]

    public init(_ keys: [String]) {
        self.keys = keys.map { Array($0.utf8) }.filter { !$0.isEmpty }
    }

    public var isEmpty: Bool { keys.isEmpty }
    public var count: Int { keys.count }

    public static func load(environment: [String: String]) throws -> APIKeys {
        var text = environment["BIDENGINE_API_KEYS"] ?? ""
        if let path = environment["BIDENGINE_API_KEYS_FILE"], !path.isEmpty {
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigurationError("cannot read BIDENGINE_API_KEYS_FILE \(path)")
            }
            text += "," + contents
        }
        let keys = text.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == "\r" })
            .map { String($0).trimmingWhitespace() }
        return APIKeys(keys)
    }

    /// True when `authorization` is `Bearer <one of the keys>`.
    func accepts(authorization: String?) -> Bool {
        guard let authorization, authorization.count > 7,
            authorization.prefix(7).lowercased() == "bearer "
        else { return false }
        let presented = Array(authorization.utf8.dropFirst(7))
        var matched = false
        for key in keys {
            // Constant time for a given key length: every byte is compared whatever the outcome.
            // The lengths are compared whole: the low byte of their XOR alone let a key followed
            // by 256 more bytes through (found by the http-request fuzzer).
            var difference: UInt8 = key.count == presented.count ? 0 : 1
            for index in 0..<key.count {
                difference |= key[index] ^ (index < presented.count ? presented[index] : 0)
            }
            matched = matched || difference == 0
        }
        return matched
    }

    /// Wraps a handler: 401 with `WWW-Authenticate` unless the request carries a valid key.
    func guarding(_ handler: @escaping HTTPHandler) -> HTTPHandler {
        let keys = self
        return { request, responder in
            guard keys.accepts(authorization: request.headers["Authorization"]) else {
                responder.respond(
                    JSONResponse.error(
                        401, "missing or invalid API key (Authorization: Bearer <key>)",
                        headers: [("WWW-Authenticate", #"Bearer realm="bidengine""#)]))
                return
            }
            handler(request, responder)
        }
    }
}

/// A configuration value that cannot be used, said in words an operator can act on.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
