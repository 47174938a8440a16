extension ConnectionString {
    /// `message` with every password of `connectionString` (as written, and percent-decoded)
    // pragma: allowlist nextline secret (a pattern in a comment, no credential)
    /// and any `scheme://user:secret@` user-info replaced by `****`.
    ///
    // pragma: allowlist nextline secret (an example of libpq's error text)
    /// libpq quotes the connection string in some errors ("invalid … in URI: \"postgresql://u:pw@…\"")
    /// and cannot parse a malformed one, so `masked` has nothing to work with there: the secrets
    /// are found by reading the string the simple way, without libpq.
    public static func redacting(_ message: String, connectionString: String) -> String {
        var result = message
        for secret in passwords(in: connectionString) where !secret.isEmpty {
            result = result.replacingEvery(secret, with: "****")
        }
        return maskingURIUserInfo(result)
    }

    /// Password candidates: libpq's own parse when it succeeds, the URI's user-info after the
    /// first `:`, and any `password=` value; each also percent-decoded.
    static func passwords(in connectionString: String) -> [String] {
        var found: [String] = []
        if case .success(let pairs) = libpqParse(connectionString) {
            found += pairs.filter { $0.key == "password" }.map(\.value)
        }
        if let scheme = connectionString.range(of: "://") {
            let rest = connectionString[scheme.upperBound...]
            if let at = rest.lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") {
                found.append(String(rest[rest.index(after: colon)..<at]))
            }
        }
        var search = connectionString[...]
        while let key = search.range(of: "password") {
            var value = search[key.upperBound...].drop { $0 == " " }
            guard value.first == "=" else {
                search = search[key.upperBound...]
                continue
            }
            value = value.dropFirst().drop { $0 == " " }
            let quoted = value.first == "'"
            if quoted { value = value.dropFirst() }
            let end = value.firstIndex { quoted ? $0 == "'" : ($0 == " " || $0 == "&") } ?? value.endIndex
            found.append(String(value[..<end]))
            search = value[end...]
        }
        return found.flatMap { [$0, $0.removingPercentEncoding] }.filter { !$0.isEmpty }
    }

    // pragma: allowlist nextline secret (a pattern in a comment, no credential)
    /// `scheme://user:anything@` → `scheme://user:****@`, wherever it appears.
    static func maskingURIUserInfo(_ text: String) -> String {
        var result = ""
        var rest = text[...]
        while let scheme = rest.range(of: "://") {
            result += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "\"" || $0 == " " || $0 == "'" } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                result += authority[...colon] + "****"
                rest = rest[at...]
            }
        }
        return result + rest
    }
}

extension String {
    fileprivate func replacingEvery(_ target: String, with replacement: String) -> String {
        var result = ""
        var rest = self[...]
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }

    /// `%XX` sequences decoded as UTF-8; the text itself when it has none or is not valid.
    fileprivate var removingPercentEncoding: String {
        guard utf8.contains(UInt8(ascii: "%")) else { return self }
        var bytes: [UInt8] = []
        let view = Array(utf8)
        var position = 0
        while position < view.count {
            if view[position] == UInt8(ascii: "%"), position + 2 < view.count,
                let high = Self.hex(view[position + 1]), let low = Self.hex(view[position + 2])
            {
                bytes.append(high << 4 | low)
                position += 3
            } else {
                bytes.append(view[position])
                position += 1
            }
        }
        return String(validating: bytes, as: UTF8.self) ?? self
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
