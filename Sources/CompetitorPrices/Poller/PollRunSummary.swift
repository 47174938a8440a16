/// The counters of one source's run, exactly as stored in its `poll_runs` row.
public struct PollRunSummary: Sendable, Equatable {
    public let source: String
    /// The `poll_runs.id`, nil when the database could not be reached to create the row.
    public internal(set) var runID: Int64?
    public internal(set) var status: PollStatus = .running
    /// Pages fetched and used (stored, even if all their items were rejected or unchanged).
    public internal(set) var pages = 0
    /// HTTP requests sent, retries included.
    public internal(set) var requests = 0
    /// Products in the used pages (stored + unchanged + rejected).
    public internal(set) var itemsSeen = 0
    /// Rows added to `competitor_prices` (new price or first sighting of the UTC day).
    public internal(set) var itemsStored = 0
    public internal(set) var itemsRejected = 0
    /// Pages that could not be fetched or used, plus the reason a run stopped before `total`.
    public internal(set) var errors = 0
    /// Why the run stopped early, or the last page error.
    public internal(set) var error: String?

    public init(source: String) {
        self.source = source
    }

    /// `source=… run=… status=… pages=… seen=… stored=… rejected=… errors=… requests=… error="…"`:
    /// one line per source, easy to read and to grep.
    public var line: String {
        var parts = [
            "source=\(source)", "run=\(runID.map(String.init) ?? "-")", "status=\(status.rawValue)", "pages=\(pages)",
            "seen=\(itemsSeen)", "stored=\(itemsStored)", "rejected=\(itemsRejected)", "errors=\(errors)",
            "requests=\(requests)",
        ]
        if let error {
            let escaped = error.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
                of: "\"", with: "\\\"")
            parts.append("error=\"\(escaped)\"")
        }
        return parts.joined(separator: " ")
    }
}
