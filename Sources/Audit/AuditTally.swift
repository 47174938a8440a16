/// The flags one stream has found: how many, and the `COPY audit_found … FROM STDIN` text of
/// those since the last flush. PostgreSQL judged them (`AuditSetScan`); this only lays out the
/// lines, copying every value as PostgreSQL wrote it.
struct AuditTally: Sendable {
    let runID: String
    private(set) var flagged: Int64 = 0
    /// Tab-separated lines, `\N` for NULL.
    var pendingFlags: [UInt8] = []

    init(runID: String) {
        self.runID = runID
        pendingFlags.reserveCapacity(1 << 16)
    }

    /// Adds another stream's count (its flags went through the queue).
    mutating func merge(_ other: AuditTally) {
        flagged += other.flagged
    }

    /// One row of `AuditSetScan.declareFlags`: id, product, current, adjusted, deviation, percentage.
    mutating func add(_ row: [String?]) throws(AuditError) {
        guard row.count == 6, row[0...4].allSatisfy({ $0 != nil }) else {
            throw .unreadableBid(id: row.first.flatMap { $0 } ?? "?", reason: "unexpected NULL or row shape")
        }
        flagged += 1
        pendingFlags.append(contentsOf: runID.utf8)
        for field in row {
            pendingFlags.append(0x09)
            if let field {
                pendingFlags.append(contentsOf: field.utf8)
            } else {
                pendingFlags.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
            }
        }
        pendingFlags.append(0x0A)
    }
}
