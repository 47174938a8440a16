/// One bearer key the server accepts: the secret, the name it goes by in metrics, logs and
/// `RateLimit` fields, and its quota (nil: unlimited).
///
/// The name is the operator's (`name=` in the key file) or, for a key without one, `key-` and the
/// first 12 hex digits of the key's SHA-256: stable across restarts and replicas, and not a way
/// back to the key. The secret itself is never logged or exported.
public struct APIKey: Sendable {
    let secret: [UInt8]
    public let name: String
    public let quota: Quota?

    public init(secret: String, name: String? = nil, quota: Quota? = nil) {
        self.secret = Array(secret.utf8)
        self.name = name ?? Self.anonymousName(secret)
        self.quota = quota
    }

    /// `key-` + 12 hex digits of SHA-256(secret): the label of a key without a name.
    static func anonymousName(_ secret: String) -> String {
        let digest = SHA256.hash(Array(secret.utf8))
        let hex = digest.prefix(6).map { byte in
            let text = String(byte, radix: 16)
            return text.count == 1 ? "0" + text : text
        }
        return "key-" + hex.joined()
    }
}
