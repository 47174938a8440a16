public import BidCore
public import Foundation
import Postgres
import TextFormats

/// One row of `audit_runs`, as the reports and the API show it.
public struct AuditRunRecord: Sendable, Equatable {
    public let id: Int64
    let asOfMicroseconds: Int64
    public let window: AuditWindow
    public let threshold: FixedDecimal
    /// `schedule` or `manual` (text, so that a value written by a newer version still reads).
    public let trigger: String
    public let status: AuditRunStatus
    let startedAtMicroseconds: Int64
    let finishedAtMicroseconds: Int64?
    /// Nil until the run succeeded.
    public let bidsReviewed: Int64?
    public let bidsFlagged: Int64?
    public let error: String?
    /// The lowest and highest id of the run's flagged bids when its flags are stored per price
    /// pair; nil when they are stored per bid (or there are none).
    let flaggedBidIDs: ClosedRange<Int64>?

    public var asOf: Date { AuditTime.date(asOfMicroseconds) }
    public var asOfText: String { AuditTime.text(asOfMicroseconds) }
    public var windowStartText: String { AuditTime.text(asOfMicroseconds - window.seconds * 1_000_000) }
    public var startedAtText: String { AuditTime.text(startedAtMicroseconds) }
    public var finishedAtText: String? { finishedAtMicroseconds.map(AuditTime.text) }

    /// Where the run's flags are read.
    var flagSource: AuditSQL.FlagSource {
        guard let flaggedBidIDs else { return .stored }
        return .pairs(
            start: AuditTime.sqlText(asOfMicroseconds - window.seconds * 1_000_000),
            end: AuditTime.sqlText(asOfMicroseconds), bids: flaggedBidIDs)
    }

    /// The rule this run applied.
    public var rule: AuditRule {
        // Stored thresholds passed the same check when the run was written.
        (try? AuditRule(threshold: threshold)) ?? .legacy
    }

    /// Milliseconds from start to finish, when finished.
    public var durationMilliseconds: Int64? {
        finishedAtMicroseconds.map { ($0 - startedAtMicroseconds) / 1000 }
    }

    /// The columns `init(row:)` reads, in order.
    static let columns = """
        id, \(AuditTime.microsecondsSQL("as_of")), window_seconds, threshold, triggered_by, status, \
        \(AuditTime.microsecondsSQL("started_at")), \(AuditTime.microsecondsSQL("finished_at")), \
        bids_reviewed, bids_flagged, error, first_bid_id, last_bid_id
        """

    /// Nil when the row does not have the shape of `columns` (a schema this code does not know).
    init?(row: [String?]) {
        guard row.count == 13,
            let id = row[0].flatMap({ Int64($0) }), let asOf = row[1].flatMap({ Int64($0) }),
            let window = row[2].flatMap({ Int64($0) }).flatMap({ AuditWindow(seconds: $0) }),
            let threshold = row[3].flatMap({ try? FixedDecimal(parsing: $0) }),
            let trigger = row[4], let status = row[5].flatMap({ AuditRunStatus(rawValue: $0) }),
            let startedAt = row[6].flatMap({ Int64($0) })
        else { return nil }
        self.id = id
        asOfMicroseconds = asOf
        self.window = window
        self.threshold = threshold
        self.trigger = trigger
        self.status = status
        startedAtMicroseconds = startedAt
        finishedAtMicroseconds = row[7].flatMap { Int64($0) }
        bidsReviewed = row[8].flatMap { Int64($0) }
        bidsFlagged = row[9].flatMap { Int64($0) }
        error = row[10]
        if let first = row[11].flatMap({ Int64($0) }), let last = row[12].flatMap({ Int64($0) }), first <= last {
            flaggedBidIDs = first...last
        } else {
            flaggedBidIDs = nil
        }
    }

    /// The first row of `result` decoded, nil when there is none; a row of the wrong shape is an error.
    static func first(of result: PostgresResult) throws(PostgresError) -> AuditRunRecord? {
        guard let row = result.rows.first else { return nil }
        guard let record = AuditRunRecord(row: row) else { throw AuditSQL.unreadable("audit_runs") }
        return record
    }
}
