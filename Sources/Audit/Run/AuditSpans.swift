import Telemetry
import TextFormats

/// The names of an audit run's spans and attributes, written once for the runner, the docs and
/// the tests.
///
/// One trace per run: the root `audit` (the parameters, the run id, how flags were searched,
/// bids reviewed and flagged, the outcome), and a child per step: claiming the run row, waiting
/// for the window's bids to commit (and choosing where to read), clearing an earlier attempt's
/// results, reading the window's bids into the deviation bands, finding and writing the flags
/// (in place, or streamed from the replica), storing the summary.
public enum AuditSpans {
    public static let root = "audit"
    public static let claim = "audit claim run"
    public static let waitForCommits = "audit wait for commits"
    public static let clearEarlierResults = "audit clear earlier results"
    public static let readBids = "audit read bids"
    public static let writeFlags = "audit write flags"
    public static let streamFlags = "audit stream flags"
    public static let storeSummary = "audit store summary"

    public static let runID = "bidengine.audit.run_id"
    public static let asOf = "bidengine.audit.as_of"
    public static let windowSeconds = "bidengine.audit.window_seconds"
    public static let threshold = "bidengine.audit.threshold"
    public static let trigger = "bidengine.audit.trigger"
    public static let abandonedRuns = "bidengine.audit.abandoned_runs"
    public static let readSource = "bidengine.audit.read_source"
    public static let fallbackReason = "bidengine.audit.fallback_reason"
    public static let flagSearch = "bidengine.audit.flag_search"
    public static let estimatedBids = "bidengine.audit.estimated_bids"
    public static let bidsRead = "bidengine.audit.bids_read"
    public static let flagsWritten = "bidengine.audit.flags_written"
    public static let streams = "bidengine.audit.streams"
    public static let bidsReviewed = "bidengine.audit.bids_reviewed"
    public static let bidsFlagged = "bidengine.audit.bids_flagged"
    public static let outcome = "bidengine.outcome"

    static func attributes(of parameters: AuditParameters) -> [(String, SpanAttribute)] {
        [
            (asOf, .string(AuditTime.text(parameters.asOfMicroseconds))),
            (windowSeconds, .int(parameters.window.seconds)),
            (threshold, .string(parameters.rule.threshold.description)),
            (trigger, .string(parameters.trigger.rawValue)),
        ]
    }

    static func name(of search: AuditFlagSearch) -> String {
        switch search {
        case .automatic: "automatic"
        case .byPair: "by_pair"
        case .byBid: "by_bid"
        case .streamed: "streamed"
        }
    }
}
