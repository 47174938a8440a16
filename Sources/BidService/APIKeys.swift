import Foundation
import HTTPServer
import JSONRoutes
import ServiceSettings

/// Bearer keys for `/api/*`, from `BIDENGINE_API_KEYS` (comma-separated, default quota) and the
/// file named by `BIDENGINE_API_KEYS_FILE` (`APIKeyFile`: one key per line, with an optional
/// name and quota).
///
/// A source that is configured but yields no key is an error, not an open API: the operator
/// meant to protect it. Keys are compared in constant time against every configured key, so
/// neither the position of the first wrong byte nor which key matched shows in the timing. Keys
/// are never logged.
public struct APIKeys: Sendable {
    public let keys: [APIKey]

    public init(_ keys: [APIKey]) {
        self.keys = keys.filter { !$0.secret.isEmpty }
    }

    /// Keys without a name, under the default quota.
    public init(_ secrets: [String], quota: Quota? = nil) {
        self.init(secrets.map { APIKey(secret: $0, quota: quota) })
    }

    public var isEmpty: Bool { keys.isEmpty }
    public var count: Int { keys.count }

    /// The keys of `environment`; `defaultQuota` for those that name none.
    public static func load(environment: [String: String], defaultQuota: Quota? = nil) throws -> APIKeys {
        let reader = SettingReader(environment: environment)
        var keys: [APIKey] = []
        if let list = try reader.optional(Settings.apiKeys) {
            let secrets = list.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
            guard !secrets.isEmpty else {
                throw ConfigurationError(
                    "BIDENGINE_API_KEYS is set but holds no key: refusing to start with /api/* open to anyone (unset it to run without keys)"
                )
            }
            keys += secrets.map { APIKey(secret: $0, quota: defaultQuota) }
        }
        if let path = try reader.optional(Settings.apiKeysFile) {
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigurationError("cannot read BIDENGINE_API_KEYS_FILE \(path)")
            }
            let fromFile = try APIKeyFile.parse(
                contents, source: "BIDENGINE_API_KEYS_FILE \(path)", defaultQuota: defaultQuota)
            guard !fromFile.isEmpty else {
                throw ConfigurationError(
                    "BIDENGINE_API_KEYS_FILE \(path) holds no key: refusing to start with /api/* open to anyone (unset it to run without keys)"
                )
            }
            keys += fromFile
        }
        var names: Set<String> = []
        var secrets: Set<[UInt8]> = []
        for key in keys {
            guard secrets.insert(key.secret).inserted else {
                throw ConfigurationError("the key named '\(key.name)' is configured twice")
            }
            guard names.insert(key.name).inserted else {
                throw ConfigurationError("two keys are named '\(key.name)'")
            }
        }
        return APIKeys(keys)
    }

    /// The key that `authorization` (`Bearer <key>`) presents, or nil.
    public func caller(authorization: String?) -> APIKey? {
        guard var authorization, authorization.utf8.count > 7 else { return nil }
        return authorization.withUTF8 { bytes in
            // The scheme is its first seven bytes, in any case; the key is every byte after them.
            guard ASCIICase.hasPrefix(bytes, lowercase: "bearer ") else { return nil }
            return matching(UnsafeBufferPointer(rebasing: bytes[7...]))
        }
    }

    private func matching(_ presented: UnsafeBufferPointer<UInt8>) -> APIKey? {
        var matched: Int?
        for (position, key) in keys.enumerated() {
            // Constant time for a given key length: every byte is compared whatever the outcome.
            // The lengths are compared whole: the low byte of their XOR alone let a key followed
            // by 256 more bytes through (found by the http-request fuzzer).
            let secret = key.secret
            var difference: UInt8 = secret.count == presented.count ? 0 : 1
            for index in 0..<secret.count {
                difference |= secret[index] ^ (index < presented.count ? presented[index] : 0)
            }
            if difference == 0 { matched = position }
        }
        return matched.map { keys[$0] }
    }

    /// True when `authorization` is `Bearer <one of the keys>`.
    func accepts(authorization: String?) -> Bool {
        caller(authorization: authorization) != nil
    }

    /// Wraps a handler: 401 with `WWW-Authenticate` unless the request carries a valid key.
    func guarding(_ handler: @escaping HTTPHandler) -> HTTPHandler {
        authenticating(admitted: { _ in })(handler)
    }

    /// A wrapper like `guarding` that also tells `admitted` which key each admitted request
    /// carried; the key's name goes to the access log.
    func authenticating(admitted: @escaping (APIKey) -> Void) -> (@escaping HTTPHandler) -> HTTPHandler {
        let keys = self
        return { handler in
            { request, responder in
                guard let caller = keys.caller(authorization: request.headers["Authorization"]) else {
                    responder.respond(
                        JSONResponse.error(
                            401, "missing or invalid API key (Authorization: Bearer <key>)",
                            headers: [("WWW-Authenticate", #"Bearer realm="bidengine""#)]))
                    return
                }
                responder.addLogFields([("key", caller.name)])
                admitted(caller)
                handler(request, responder)
            }
        }
    }
}

/// A configuration value that cannot be used, said in words an operator can act on.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
