/// The rows of one statement, copied out of libpq as text (PostgreSQL's exact text forms:
/// `numeric` stays decimal text, so money never becomes a `Double`).
public struct PostgresResult: Sendable, Equatable {
    public let columns: [String]
    public let rows: [[String?]]
    /// Rows affected, from the command tag (INSERT/UPDATE/DELETE), when the server reported it.
    public let affectedRows: Int?

    public init(columns: [String], rows: [[String?]], affectedRows: Int?) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    /// The only value of a one-row, one-column result.
    public var scalar: String? {
        rows.first?.first ?? nil
    }

    /// The index of a named column.
    public func column(_ name: String) -> Int? {
        columns.firstIndex(of: name)
    }
}
