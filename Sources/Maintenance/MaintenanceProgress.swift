public import Logging

/// Where a running maintenance pass is, for a progress line: the step, the table it works on, the
/// rows done so far in that step and, when known, how many there are in all.
///
/// Reported when a step starts (`rows` 0) and after each batch of the long steps (moving rows out
/// of `bids_default`, deleting past a retention), so a long pass is never silent.
public struct MaintenanceProgress: Sendable, Equatable {
    public enum Step: String, Sendable {
        /// Creating a partition of `bids`.
        case creating
        /// Moving rows out of `bids_default` into the new partition of their month.
        case moving
        /// Detaching a partition past the retention.
        case detaching
        /// Dropping a detached partition.
        case dropping
        /// Deleting rows past the retention, in batches.
        case deleting
    }

    public let step: Step
    public let table: String
    public let rows: Int64
    /// The total the step works through: rows waiting to be moved, a partition's estimated size;
    /// nil for deletes, which stop at the first short batch instead of counting first.
    public let expected: Int64?

    public init(_ step: Step, table: String, rows: Int64, expected: Int64? = nil) {
        self.step = step
        self.table = table
        self.rows = rows
        self.expected = expected
    }

    /// "moving bids_p2026_01: 10000 of 12000 rows".
    public var text: String {
        "\(step.rawValue) \(table): \(rows)" + (expected.map { " of \($0)" } ?? "") + " rows"
    }

    /// A reporter that writes each report as a log line ("maintenance progress") at `level`.
    public static func logging(
        to logger: Logger, level: Logger.Level = .notice
    ) -> @Sendable (MaintenanceProgress) -> Void {
        { progress in
            var metadata: Logger.Metadata = [
                "step": "\(progress.step.rawValue)", "table": "\(progress.table)", "rows": "\(progress.rows)",
            ]
            // Absent, not a sentinel, when the step does not count ahead (deletes).
            if let expected = progress.expected { metadata["rows_expected"] = "\(expected)" }
            logger.log(level: level, "maintenance progress", metadata: metadata)
        }
    }
}
