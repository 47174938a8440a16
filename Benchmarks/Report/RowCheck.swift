/// After a bid run: did every 200 answer leave exactly one row?
struct RowCheck: Codable, Sendable {
    let acknowledged: Int
    let rows: Int

    var matches: Bool { acknowledged == rows }

    var summary: String {
        matches
            ? "\(Format.integer(rows)) rows = \(Format.integer(acknowledged)) × 200 ✓"
            : "MISMATCH: \(Format.integer(rows)) rows vs \(Format.integer(acknowledged)) × 200"
    }
}
