internal import CLibpq

/// Helpers for libpq connection strings (URIs or key/value) without parsing them ourselves.
public enum ConnectionString {
    /// The same connection with another database name: parsed by libpq (`PQconninfoParse`) and
    /// rewritten as key/value, so URIs and key/value strings both work.
    public static func replacingDatabase(in connectionString: String, with database: String) throws(PostgresError)
        -> String
    {
        var pairs = try parse(connectionString)
        pairs.removeAll { $0.key == "dbname" }
        pairs.append((key: "dbname", value: database))
        return pairs.map { "\($0.key)=\(quote($0.value))" }.joined(separator: " ")
    }

    /// The same connection with session defaults a service relies on: `application_name` (unless
    /// the operator already chose one, so `pg_stat_activity` tells the service's backends apart)
    /// and server settings appended to libpq's `options` as `-c name=value`. libpq sends them with
    /// the startup packet, so they hold again after every reconnect, without an extra round trip.
    public static func addingSessionDefaults(
        to connectionString: String, applicationName: String, settings: [(name: String, value: String)]
    ) throws(PostgresError) -> String {
        var pairs = try parse(connectionString)
        if !pairs.contains(where: { $0.key == "application_name" }) {
            pairs.append((key: "application_name", value: applicationName))
        }
        let given = pairs.first { $0.key == "options" }?.value ?? ""
        // In `options`, a space separates arguments and a backslash escapes the next character.
        let added = settings.map { "-c \(escapeOption($0.name))=\(escapeOption($0.value))" }
        let options = ([given].filter { !$0.isEmpty } + added).joined(separator: " ")
        pairs.removeAll { $0.key == "options" }
        if !options.isEmpty { pairs.append((key: "options", value: options)) }
        return pairs.map { "\($0.key)=\(quote($0.value))" }.joined(separator: " ")
    }

    /// The same connection with libpq's `connect_timeout` set to `seconds`, unless the string
    /// already sets one (the operator's choice wins). Without it libpq waits forever for a server
    /// that accepts TCP and never answers. libpq takes values below 2 as 2.
    public static func addingConnectTimeout(to connectionString: String, seconds: Int) throws(PostgresError) -> String {
        var pairs = try parse(connectionString)
        guard !pairs.contains(where: { $0.key == "connect_timeout" }) else { return connectionString }
        pairs.append((key: "connect_timeout", value: String(seconds)))
        return pairs.map { "\($0.key)=\(quote($0.value))" }.joined(separator: " ")
    }

    /// The `connect_timeout` the string sets, as libpq reads it (values 1 and below 0 as libpq
    /// treats them: 1 means 2 s, 0 or less means none), or nil when it sets none.
    public static func connectTimeout(in connectionString: String) -> Duration? {
        guard let text = (try? parse(connectionString))?.first(where: { $0.key == "connect_timeout" })?.value,
            let seconds = Int(text)
        else { return nil }
        return seconds <= 0 ? nil : .seconds(max(seconds, 2))
    }

    /// The string with any password replaced by `****`, for logs.
    public static func masked(_ connectionString: String) -> String {
        guard let pairs = try? parse(connectionString) else { return "(unparseable connection string)" }
        return pairs.map { "\($0.key)=\($0.key == "password" ? "****" : quote($0.value))" }.joined(separator: " ")
    }

    /// The options libpq would use, as given (defaults omitted).
    public static func parse(_ connectionString: String) throws(PostgresError) -> [(key: String, value: String)] {
        switch libpqParse(connectionString) {
        case .success(let pairs):
            return pairs
        case .failure(let message):
            let redacted = redacting(message.text.trimmingTrailingNewlines(), connectionString: connectionString)
            throw PostgresError(.connection, "invalid DATABASE_URL: \(redacted)")
        }
    }

    struct ParseFailure: Error {
        let text: String
    }

    /// `PQconninfoParse` as it is: its error message may quote the connection string.
    static func libpqParse(_ connectionString: String) -> Result<[(key: String, value: String)], ParseFailure> {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &errorMessage) else {
            let message = errorMessage.map { String(cString: $0) } ?? "invalid connection string"
            if let errorMessage { PQfreemem(errorMessage) }
            return .failure(ParseFailure(text: message))
        }
        defer { PQconninfoFree(options) }
        var pairs: [(key: String, value: String)] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                pairs.append((key: String(cString: keyword), value: String(cString: value)))
            }
            option += 1
        }
        return .success(pairs)
    }

    private static func escapeOption(_ text: String) -> String {
        text.replacingAll("\\", with: "\\\\").replacingAll(" ", with: "\\ ")
    }

    private static func quote(_ value: String) -> String {
        let escaped = value.replacingAll("\\", with: "\\\\").replacingAll("'", with: "\\'")
        return "'\(escaped)'"
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
