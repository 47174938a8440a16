import TextFormats

/// The latest competitor price known for a product at a run's `as_of`, shown next to it.
public struct CompetitorPrice: Sendable, Equatable {
    /// `numeric` text, exact.
    public let price: String
    let observedAtMicroseconds: Int64

    public var observedAtText: String { AuditTime.text(observedAtMicroseconds) }

    /// From two nullable columns (a LEFT JOIN that found nothing gives two NULLs).
    init?(price: String?, observedAt: String?) {
        guard let price, let observedAt = observedAt.flatMap({ Int64($0) }) else { return nil }
        self.price = price
        observedAtMicroseconds = observedAt
    }
}
