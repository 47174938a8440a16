import Telemetry

/// The names of a maintenance pass's spans and attributes, written once for the pass, the docs
/// and the tests.
///
/// One trace per pass: the root `maintenance` (dry run or not, skipped because another pass held
/// the lock, the number of actions, the outcome), and a child per step that ran. A step's span
/// says what it did, from its actions: the tables acted on, partitions created and dropped, rows
/// moved, deleted, and dropped with their partitions (an estimate, as the report says); a count
/// appears only when the step did that kind of thing.
public enum MaintenanceSpans {
    public static let root = "maintenance"
    public static let deleteAuditRuns = "maintenance delete audit runs"
    public static let deleteDefaultBids = "maintenance delete old bids of bids_default"
    public static let createPartitions = "maintenance create partitions"
    public static let dropPartitions = "maintenance drop partitions"
    public static let deleteStraddlingBids = "maintenance delete old bids of straddling partitions"
    public static let deleteCompetitorPrices = "maintenance delete competitor prices"

    public static let dryRun = "bidengine.maintenance.dry_run"
    public static let skipped = "bidengine.maintenance.skipped"
    public static let actions = "bidengine.maintenance.actions"
    public static let tables = "bidengine.maintenance.tables"
    public static let partitionsCreated = "bidengine.maintenance.partitions_created"
    public static let rowsMoved = "bidengine.maintenance.rows_moved"
    public static let partitionsDropped = "bidengine.maintenance.partitions_dropped"
    public static let rowsDropped = "bidengine.maintenance.rows_dropped_estimate"
    public static let rowsDeleted = "bidengine.maintenance.rows_deleted"
    public static let outcome = "bidengine.outcome"

    /// What `actions` did, as a step's attributes.
    static func attributes(of actions: some Collection<MaintenanceAction>) -> [(String, SpanAttribute)] {
        var attributes: [(String, SpanAttribute)] = [(Self.actions, .int(Int64(actions.count)))]
        var tables: [String] = []
        for action in actions where !tables.contains(action.table) { tables.append(action.table) }
        if !tables.isEmpty { attributes.append((Self.tables, .string(tables.joined(separator: ",")))) }
        func add(_ key: String, _ kind: MaintenanceAction.Kind, counting: Bool) {
            let matching = actions.filter { $0.kind == kind }
            guard !matching.isEmpty else { return }
            attributes.append((key, .int(counting ? Int64(matching.count) : matching.reduce(0) { $0 + $1.rows })))
        }
        add(partitionsCreated, .created, counting: true)
        add(rowsMoved, .moved, counting: false)
        add(partitionsDropped, .dropped, counting: true)
        add(rowsDropped, .dropped, counting: false)
        add(rowsDeleted, .deleted, counting: false)
        return attributes
    }
}
