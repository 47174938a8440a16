public import BidCore

/// One row of a keyset-paginated listing, as its read route decodes and writes it.
public protocol KeysetRow {
    /// What a row is called in the log when it cannot be written ("stored bid").
    static var rowName: String { get }
    /// About how many bytes one row takes as JSON, to size the page's buffer.
    static var jsonSizeEstimate: Int { get }

    /// Nil when the stored row cannot be represented in JSON.
    init?(row: [String?])
    /// Where the next page starts when this row is the last one shown.
    var cursor: KeysetCursor { get }
    func write(to writer: inout JSONWriter)
}
