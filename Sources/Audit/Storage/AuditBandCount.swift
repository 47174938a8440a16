/// How many reviewed bids of a run fell in one deviation band.
public struct AuditBandCount: Sendable, Equatable {
    public let band: AuditDeviationBand
    public let bids: Int64

    init?(row: [String?]) {
        guard row.count == 2, let index = row[0].flatMap({ Int($0) }), AuditDeviationBand.all.indices.contains(index),
            let bids = row[1].flatMap({ Int64($0) })
        else { return nil }
        band = AuditDeviationBand.all[index]
        self.bids = bids
    }

    init(band: AuditDeviationBand, bids: Int64) {
        self.band = band
        self.bids = bids
    }
}
