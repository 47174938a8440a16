import ServiceSettings

/// What maintenance keeps: one retention per kind of data; nil keeps everything.
public struct MaintenanceSettings: Sendable, Equatable {
    /// `bids`, by whole UTC months: monthly partitions wholly before the cutoff (the month start at
    /// or before now − retention) are detached and dropped; older rows of `bids_default` and of
    /// partitions that straddle the cutoff (`bids_legacy`) are deleted in batches.
    public var bids: RetentionPeriod?
    /// `competitor_prices` (by observed_at) and finished `poll_runs` (by started_at), in batches.
    public var competitorPrices: RetentionPeriod?
    /// Finished audit runs (by as_of) with their flags, products and bands, in batches.
    public var audit: RetentionPeriod?

    public init(bids: RetentionPeriod? = nil, competitorPrices: RetentionPeriod? = nil, audit: RetentionPeriod? = nil) {
        self.bids = bids
        self.competitorPrices = competitorPrices
        self.audit = audit
    }

    /// BIDS_RETENTION, COMPETITOR_PRICES_RETENTION and AUDIT_RETENTION, through the settings table.
    public init(environment: [String: String]) throws(RetentionError) {
        let reader = SettingReader(environment: environment)
        do {
            bids = try reader.value(Settings.bidsRetention)
            competitorPrices = try reader.value(Settings.competitorPricesRetention)
            audit = try reader.value(Settings.auditRetention)
        } catch {
            throw RetentionError(message: error.description)
        }
    }
}
