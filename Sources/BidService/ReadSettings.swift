import Foundation

/// The read-replica settings shared by `serve`, `audit` and `schedule`, parsed from the
/// environment in one place.
public enum ReadSettings {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// `5` (seconds) or `500ms`; positive. Used for `READ_MAX_LAG` and `AUDIT_REPLICA_WAIT`.
    public static func parseLag(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("ms"), let value = Int64(trimmed.dropLast(2)), value > 0, value <= 86_400_000 {
            return .milliseconds(value)
        }
        let seconds = trimmed.hasSuffix("s") ? String(trimmed.dropLast()) : trimmed
        guard let value = Int64(seconds), value > 0, value <= 86_400 else { return nil }
        return .seconds(value)
    }

    /// The audit's read source from `DATABASE_READ_URL`, `AUDIT_SETTLE_MS` (default:
    /// `DATABASE_TIMEOUT_MS`, itself 1000 by default, plus 1000), `AUDIT_REPLICA_WAIT` (default 60 s)
    /// and `AUDIT_REPLICA_BEHIND` (`primary`, the default, or `fail`).
    public static func auditReadSource(environment: [String: String]) throws(Invalid) -> AuditReadSource {
        func value(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        var source = AuditReadSource(replicaConnectionString: value("DATABASE_READ_URL"))
        var bidTimeout: Int64 = 1000
        if let text = value("DATABASE_TIMEOUT_MS") {
            guard let parsed = Int64(text), parsed > 0 else {
                throw Invalid(description: "DATABASE_TIMEOUT_MS must be a positive integer, got '\(text)'")
            }
            bidTimeout = parsed
        }
        source.settle = .milliseconds(bidTimeout + 1000)
        if let text = value("AUDIT_SETTLE_MS") {
            guard let parsed = Int64(text), parsed >= 0, parsed <= 3_600_000 else {
                throw Invalid(description: "AUDIT_SETTLE_MS must be milliseconds from 0 to 3600000, got '\(text)'")
            }
            source.settle = .milliseconds(parsed)
        }
        if let text = value("AUDIT_REPLICA_WAIT") {
            guard let parsed = parseLag(text) else {
                throw Invalid(
                    description: "AUDIT_REPLICA_WAIT must be seconds (60) or milliseconds (500ms), got '\(text)'")
            }
            source.replicaWaitLimit = parsed
        }
        if let text = value("AUDIT_REPLICA_BEHIND") {
            guard let parsed = AuditReadSource.WhenBehind(rawValue: text.lowercased()) else {
                throw Invalid(description: "AUDIT_REPLICA_BEHIND must be primary or fail, got '\(text)'")
            }
            source.whenBehind = parsed
        }
        return source
    }
}
