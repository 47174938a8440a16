/// One number of the report, named stably so that `--compare` can match it across runs.
struct Figure: Codable, Sendable {
    enum Better: String, Codable, Sendable {
        case higher, lower
        /// Context only (offered rates, counts): never flagged as a regression.
        case neither
    }

    let name: String
    let value: Double
    let unit: String
    let better: Better
}
