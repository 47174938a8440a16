/// The formats `bidengine audit --format` writes.
public enum AuditReportFormat: String, Sendable, CaseIterable {
    /// For people: the legacy-style report, lists capped at the worst N.
    case text
    /// Every flag, streamed, with the run, bands and products.
    case json
    /// Every flag, one line each, streamed.
    case csv
    /// One self-contained page with charts, lists capped like the text report.
    case html
}
