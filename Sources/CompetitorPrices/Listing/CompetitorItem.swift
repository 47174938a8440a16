public import BidCore

/// One product of a competitor's listing that passed every check, ready to store.
public struct CompetitorItem: Sendable, Equatable {
    /// The competitor's id as text: a JSON integer's digits (`"17"`) or a JSON string as sent.
    public let externalID: String
    public let title: String
    public let brand: String?
    public let category: String?
    /// Exact, from the JSON lexeme (`12.50` stays `12.50`); never through `Double`.
    public let price: FixedDecimal

    public init(externalID: String, title: String, brand: String?, category: String?, price: FixedDecimal) {
        self.externalID = externalID
        self.title = title
        self.brand = brand
        self.category = category
        self.price = price
    }
}
