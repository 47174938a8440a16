import BidCore

/// The running state of one audit pass: counts, the band histogram, and the COPY text of the
/// flags found since the last flush. Pure (no I/O), so the per-row work can be measured alone.
struct AuditTally: Sendable {
    let runID: String
    let rule: AuditRule
    private(set) var reviewed: Int64 = 0
    private(set) var flagged: Int64 = 0
    /// Bids per `AuditDeviationBand.index`.
    private(set) var bands = [Int64](repeating: 0, count: AuditDeviationBand.all.count)
    /// `COPY audit_flags … FROM STDIN` text lines (tab-separated, `\N` for NULL).
    var pendingFlags: [UInt8] = []

    init(runID: String, rule: AuditRule) {
        self.runID = runID
        self.rule = rule
        pendingFlags.reserveCapacity(1 << 16)
    }

    /// Adds another session's counts (its flags went through the queue).
    mutating func merge(_ other: AuditTally) {
        reviewed += other.reviewed
        flagged += other.flagged
        for index in bands.indices { bands[index] += other.bands[index] }
    }

    /// Judges one `(id, product_id, current_cpc, adjusted_cpc)` row of the bids cursor.
    mutating func add(_ row: [String?]) throws(AuditError) {
        guard row.count == 4, let id = row[0], let product = row[1], let currentText = row[2], let adjustedText = row[3]
        else {
            throw .unreadableBid(id: row.first.flatMap { $0 } ?? "?", reason: "unexpected NULL or row shape")
        }
        let assessment: AuditRule.Assessment
        do {
            let current = try Self.numeric(currentText) ?? FixedDecimal(parsing: currentText)
            let adjusted = try Self.numeric(adjustedText) ?? FixedDecimal(parsing: adjustedText)
            assessment = try rule.assess(currentCPC: current, adjustedCPC: adjusted)
        } catch {
            throw .unreadableBid(id: id, reason: "current_cpc \(currentText), adjusted_cpc \(adjustedText): \(error)")
        }
        reviewed += 1
        bands[AuditDeviationBand.index(of: assessment)] += 1
        guard assessment.isFlagged else { return }
        flagged += 1
        // The CPCs are copied as PostgreSQL wrote them: the flag keeps the stored values verbatim.
        for field in [runID, id, product, currentText, adjustedText] {
            pendingFlags.append(contentsOf: field.utf8)
            pendingFlags.append(0x09)
        }
        assessment.deviation.appendText(to: &pendingFlags)
        pendingFlags.append(0x09)
        if let percent = assessment.percent {
            percent.appendText(to: &pendingFlags)
        } else {
            pendingFlags.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
        }
        pendingFlags.append(0x0A)
    }

    /// PostgreSQL's `numeric` output (`-?digits(.digits)?`) read straight into a decimal: the
    /// audit reads three of these per bid, and the general parser's PHP syntax (spaces, signs,
    /// exponents) is wasted on text PostgreSQL wrote. Nil for anything else (`NaN`, more than 38
    /// digits), which the general parser then reports precisely.
    static func numeric(_ text: String) -> FixedDecimal? {
        var significand: UInt128 = 0
        var negative = false
        var scale = 0
        var digits = 0
        var inFraction = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                // 38 digits at most, leading zeros included: stays exact and cheap to check.
                guard digits < FixedDecimal.maxDigits else { return nil }
                significand = significand &* 10 &+ UInt128(byte &- UInt8(ascii: "0"))
                digits += 1
                if inFraction { scale += 1 }
            case UInt8(ascii: "-") where digits == 0 && !negative && !inFraction:
                negative = true
            case UInt8(ascii: ".") where digits > 0 && !inFraction:
                inFraction = true
            default:
                return nil
            }
        }
        guard digits > 0, !(inFraction && scale == 0) else { return nil }
        let signed = Int128(significand)
        return try? FixedDecimal(significand: negative ? -signed : signed, scale: scale)
    }
}
