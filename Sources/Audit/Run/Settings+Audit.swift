public import Foundation
public import Scheduler
public import ServiceSettings

/// The audit's rows of the settings table: its rule (`audit` and `schedule`), the nightly time
/// (`schedule`), and how the window is read when a replica is configured.
extension Settings {
    public static let auditWindow = Setting<AuditWindow>(
        "AUDIT_WINDOW", flag: "--window", accepts: "a length such as 7d, 36h or 1d12h (at most 3650d)",
        default: AuditWindow(parsing: "7d")!
    ) { AuditWindow(parsing: $0) }
    /// The threshold as written: whether it ends in `%` decides how a number above 1 is read
    /// (`AuditParameters.parseThreshold`), so the command checks the text, not only the rule.
    public static let auditThreshold = Setting<String>(
        "AUDIT_THRESHOLD", flag: "--threshold",
        accepts: "a fraction such as 0.20 or a percentage such as 20%, between 0 and 1000000", default: "0.20"
    ) { AuditParameters.parseThreshold($0) == nil ? nil : $0 }
    public static let auditAt = Setting<WallClockTime>(
        "AUDIT_AT", flag: "--audit-at", accepts: "HH:MM (24-hour)", default: WallClockTime(hour: 2, minute: 0)!
    ) { WallClockTime(parsing: $0) }
    public static let auditTimeZone = Setting<TimeZone>(
        "AUDIT_TZ", flag: "--audit-tz", accepts: "an IANA time zone such as UTC or Europe/Berlin",
        default: TimeZone(identifier: "UTC")!
    ) { TimeZone(identifier: $0) }

    // MARK: Reading the window

    /// Unset: `DATABASE_TIMEOUT_MS` plus one second, so every bid stamped before as-of has committed or failed.
    public static let auditSettle = Setting<Duration>(
        "AUDIT_SETTLE_MS", accepts: "milliseconds from 0 to 3600000", default: .seconds(2)
    ) { text in Int64(text).flatMap { (0...3_600_000).contains($0) ? .milliseconds($0) : nil } }
    public static let auditReplicaWait = Setting<Duration>(
        "AUDIT_REPLICA_WAIT", accepts: "seconds (60) or milliseconds (500ms)", default: .seconds(60)
    ) { ReadSettings.parseLag($0) }
    public static let auditReplicaBehind = Setting<AuditReadSource.WhenBehind>(
        "AUDIT_REPLICA_BEHIND", accepts: "primary or fail", default: .primary
    ) { AuditReadSource.WhenBehind(rawValue: $0.lowercased()) }
}
