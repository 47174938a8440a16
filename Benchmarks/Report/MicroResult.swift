/// One micro benchmark's figures.
struct MicroResult: Codable, Sendable {
    let name: String
    let summary: String
    let iterationsPerRun: Int
    let runs: Int
    /// Median of the runs' nanoseconds per operation, and the spread around it.
    let medianNanoseconds: Double
    let minNanoseconds: Double
    let maxNanoseconds: Double
    /// Swift heap allocations per operation; nil when they could not be counted.
    let allocationsPerOperation: Double?
}
