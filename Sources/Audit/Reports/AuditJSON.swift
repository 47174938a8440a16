import BidCore

/// The JSON shapes of runs, flags, products and bands, shared by the API and `--format json`.
/// Decimals are written as JSON numbers with PostgreSQL's exact digits, never through `Double`.
enum AuditJSON {
    static func writeRun(_ run: AuditRunRecord, to writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("id", run.id)
        writer.member("as_of", run.asOfText)
        writer.member("window_start", run.windowStartText)
        writer.member("window", run.window.description)
        writer.member("window_seconds", run.window.seconds)
        writer.member("threshold", run.threshold)
        writer.member("triggered_by", run.trigger)
        writer.member("status", run.status.rawValue)
        writer.member("started_at", run.startedAtText)
        optional("finished_at", run.finishedAtText, to: &writer)
        if let duration = run.durationMilliseconds {
            writer.member("duration_ms", duration)
        } else {
            writer.nullMember("duration_ms")
        }
        if let reviewed = run.bidsReviewed {
            writer.member("bids_reviewed", reviewed)
        } else {
            writer.nullMember("bids_reviewed")
        }
        if let flagged = run.bidsFlagged {
            writer.member("bids_flagged", flagged)
        } else {
            writer.nullMember("bids_flagged")
        }
        optional("error", run.error, to: &writer)
        writer.endObject()
    }

    static func writeFlag(_ flag: AuditFlagRecord, rule: AuditRule, to writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("bid_id", flag.bidID)
        number("product_id", flag.productID, to: &writer)
        number("current_cpc", flag.currentCPC, to: &writer)
        number("adjusted_cpc", flag.adjustedCPC, to: &writer)
        number("deviation", flag.deviation, to: &writer)
        number("deviation_pct", flag.deviationPercent, to: &writer)
        number("allowed_deviation", flag.allowedDeviation(rule)?.description, to: &writer)
        competitor(flag.competitor, to: &writer)
        writer.endObject()
    }

    static func writeProduct(_ product: AuditProductRecord, to writer: inout JSONWriter) {
        writer.beginObject()
        number("product_id", product.productID, to: &writer)
        writer.member("flags", product.flags)
        writer.member("worst_bid_id", product.worstBidID)
        number("worst_deviation", product.worstDeviation, to: &writer)
        number("worst_deviation_pct", product.worstDeviationPercent, to: &writer)
        competitor(product.competitor, to: &writer)
        writer.endObject()
    }

    static func writeBand(_ band: AuditBandCount, to writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("band", Int64(band.band.index))
        writer.member("label", band.band.label)
        writer.member("bids", band.bids)
        writer.endObject()
    }

    /// A `numeric` as a JSON number; a value that is not one (`NaN`) as a string; nil as null.
    static func number(_ key: String, _ text: String?, to writer: inout JSONWriter) {
        guard let text else { return writer.nullMember(key) }
        if isJSONNumber(text) { writer.rawMember(key, text) } else { writer.member(key, text) }
    }

    private static func optional(_ key: String, _ text: String?, to writer: inout JSONWriter) {
        if let text { writer.member(key, text) } else { writer.nullMember(key) }
    }

    private static func competitor(_ price: CompetitorPrice?, to writer: inout JSONWriter) {
        number("competitor_price", price?.price, to: &writer)
        optional("competitor_observed_at", price?.observedAtText, to: &writer)
    }

    /// PostgreSQL's `numeric` output is `-?digits(.digits)?` except for `NaN` and infinities.
    private static func isJSONNumber(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var index = bytes.first == UInt8(ascii: "-") ? 1 : 0
        let integerStart = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        let integerDigits = index - integerStart
        guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else { return false }
        if index == bytes.count { return true }
        guard bytes[index] == UInt8(ascii: "."), index + 1 < bytes.count else { return false }
        return bytes[(index + 1)...].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
