import Foundation

/// Parsing shared by the read-replica settings of `serve` (`READ_MAX_LAG`) and of the audit
/// (`AUDIT_REPLICA_WAIT`, see `AuditReadSource.init(environment:)`).
public enum ReadSettings {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String

        public init(description: String) {
            self.description = description
        }
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
}
