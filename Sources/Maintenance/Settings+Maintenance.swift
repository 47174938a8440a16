public import Scheduler
public import ServiceSettings

/// Maintenance's rows of the settings table: when it runs in `bidengine schedule`, and the retentions.
extension Settings {
    public static let maintenanceAt = Setting<WallClockTime>(
        "MAINTENANCE_AT", accepts: "HH:MM (24-hour, UTC)", default: WallClockTime(hour: 1, minute: 0)!
    ) { WallClockTime(parsing: $0) }
    public static let bidsRetention = retention("BIDS_RETENTION")
    public static let competitorPricesRetention = retention("COMPETITOR_PRICES_RETENTION")
    public static let auditRetention = retention("AUDIT_RETENTION")

    /// Unset, `forever` or `keep`: nil, keep everything.
    private static func retention(_ name: String) -> Setting<RetentionPeriod?> {
        Setting(name, accepts: RetentionPeriod.expectation, default: nil) { text -> RetentionPeriod?? in
            do { return .some(try RetentionPeriod.parse(text, key: name)) } catch { return nil }
        }
    }
}
