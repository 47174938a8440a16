/// The text of `BIDENGINE_API_KEYS_FILE`: one key per line, `KEY` or
/// `KEY name=NAME rate=R burst=B` (each attribute optional, in any order), `#` to the end of a
/// line is a comment, blank lines are ignored. A line with a bare key may hold several keys
/// separated by commas, as a Secret written by `join ","` does.
///
/// A key is printable ASCII without spaces, commas or `#`; a name is 1–64 letters, digits, `_`,
/// `-` or `.`; R and B are whole numbers of bids from 1 to 1,000,000,000 (B defaults to R: one
/// second's worth). A key without `rate=` takes the default quota. Any
/// other line is refused, naming the line and why: a key file that half-loads is a hole.
enum APIKeyFile {
    /// The keys of `text`, or the first bad line's error: `file:line: why`.
    static func parse(_ text: String, source: String, defaultQuota: Quota?) throws -> [APIKey] {
        var keys: [APIKey] = []
        var secrets: Set<String> = []
        var names: Set<String> = []
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            func refuse(_ why: String) -> ConfigurationError {
                ConfigurationError("\(source) line \(number): \(why)")
            }
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let first = fields.first else { continue }
            let attributes = fields.dropFirst()
            let secretsOnLine = first.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if secretsOnLine.count != 1, !attributes.isEmpty {
                throw refuse("a key with name=, rate= or burst= must be alone on its line")
            }
            var name: String?
            var rate: Int?
            var burst: Int?
            for attribute in attributes {
                let parts = attribute.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw refuse("'\(attribute)' is not name=NAME, rate=R or burst=B (one key per line)")
                }
                let value = String(parts[1])
                switch parts[0] {
                case "name":
                    guard name == nil else { throw refuse("name= given twice") }
                    guard isValidName(value) else {
                        throw refuse("name must be 1 to 64 letters, digits, '_', '-' or '.', got '\(value)'")
                    }
                    name = value
                case "rate", "burst":
                    guard (parts[0] == "rate" ? rate : burst) == nil else { throw refuse("\(parts[0])= given twice") }
                    guard let number = Int(value), (1...Quota.maximum).contains(number) else {
                        throw refuse("\(parts[0]) must be a whole number of bids from 1 to 1000000000, got '\(value)'")
                    }
                    if parts[0] == "rate" { rate = number } else { burst = number }
                default:
                    throw refuse("unknown attribute '\(parts[0])' (expected name, rate or burst)")
                }
            }
            if burst != nil, rate == nil { throw refuse("burst= needs rate=") }
            for secret in secretsOnLine {
                guard !secret.isEmpty else { throw refuse("an empty key between commas") }
                guard secret.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                    throw refuse("a key must be printable ASCII without spaces")
                }
                guard secrets.insert(secret).inserted else { throw refuse("the same key is listed twice") }
                let quota = rate.map { Quota(rate: $0, burst: burst ?? $0) } ?? defaultQuota
                let key = APIKey(secret: secret, name: name, quota: quota)
                guard names.insert(key.name).inserted else { throw refuse("the name '\(key.name)' is used twice") }
                keys.append(key)
            }
        }
        return keys
    }

    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == 0x5F || byte == 0x2D || byte == 0x2E
            }
    }
}
