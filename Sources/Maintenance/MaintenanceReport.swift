import BidCore

/// What one maintenance pass did, for `bidengine maintain` to print.
public struct MaintenanceReport: Sendable, Equatable {
    public let dryRun: Bool
    /// True when another pass held the advisory lock: nothing was done.
    public let skipped: Bool
    public let actions: [MaintenanceAction]

    /// One line per action (`created  bids_p2027_03  0 rows`); a dry run says "would".
    public var text: String {
        if skipped { return "maintenance skipped: another maintenance pass holds the lock\n" }
        if actions.isEmpty { return dryRun ? "nothing would be done\n" : "nothing to do\n" }
        let width = actions.map(\.table.count).max() ?? 0
        var text = ""
        for action in actions {
            let verb = dryRun ? "would \(action.kind.infinitive)" : action.kind.rawValue
            let rows = action.estimated ? "~\(action.rows) rows (estimate)" : "\(action.rows) rows"
            let pad = String(repeating: " ", count: width - action.table.count)
            text += verb.padding(dryRun ? 14 : 9) + action.table + pad + "  " + rows + "\n"
        }
        return text
    }

    /// `{"dry_run":…,"skipped":…,"actions":[{"action":"created","table":…,"rows":…,"estimated":…}]}`
    public var json: String {
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("dry_run", dryRun)
        writer.member("skipped", skipped)
        writer.beginArray("actions")
        for action in actions {
            writer.beginObject()
            writer.member("action", action.kind.rawValue)
            writer.member("table", action.table)
            writer.member("rows", action.rows)
            writer.member("estimated", action.estimated)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self) + "\n"
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
