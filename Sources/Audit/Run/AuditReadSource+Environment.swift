public import ServiceSupport

extension AuditReadSource {
    /// The settings from `DATABASE_READ_URL`, `AUDIT_SETTLE_MS` (default:
    /// `DATABASE_TIMEOUT_MS`, itself 1000 by default, plus 1000), `AUDIT_REPLICA_WAIT` (default 60 s)
    /// and `AUDIT_REPLICA_BEHIND` (`primary`, the default, or `fail`).
    public init(environment: [String: String]) throws(ReadSettings.Invalid) {
        func value(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        self.init(replicaConnectionString: value("DATABASE_READ_URL"))
        var bidTimeout: Int64 = 1000
        if let text = value("DATABASE_TIMEOUT_MS") {
            guard let parsed = Int64(text), parsed > 0 else {
                throw ReadSettings.Invalid(description: "DATABASE_TIMEOUT_MS must be a positive integer, got '\(text)'")
            }
            bidTimeout = parsed
        }
        settle = .milliseconds(bidTimeout + 1000)
        if let text = value("AUDIT_SETTLE_MS") {
            guard let parsed = Int64(text), parsed >= 0, parsed <= 3_600_000 else {
                throw ReadSettings.Invalid(
                    description: "AUDIT_SETTLE_MS must be milliseconds from 0 to 3600000, got '\(text)'")
            }
            settle = .milliseconds(parsed)
        }
        if let text = value("AUDIT_REPLICA_WAIT") {
            guard let parsed = ReadSettings.parseLag(text) else {
                throw ReadSettings.Invalid(
                    description: "AUDIT_REPLICA_WAIT must be seconds (60) or milliseconds (500ms), got '\(text)'")
            }
            replicaWaitLimit = parsed
        }
        if let text = value("AUDIT_REPLICA_BEHIND") {
            guard let parsed = AuditReadSource.WhenBehind(rawValue: text.lowercased()) else {
                throw ReadSettings.Invalid(description: "AUDIT_REPLICA_BEHIND must be primary or fail, got '\(text)'")
            }
            whenBehind = parsed
        }
    }
}
