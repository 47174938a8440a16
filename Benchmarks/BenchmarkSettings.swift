/// The shape of one benchmark run, after `--quick` and the options are applied.
struct BenchmarkSettings: Codable, Sendable {
    var quick: Bool
    var sections: [String]
    /// The open loop's, the slowloris section's and the database ceiling's concurrency, and the
    /// one the single-concurrency figures refer to: 64 when the sweep has it, else its first.
    var connections: Int
    /// The closed loop's concurrencies (`--connections 16,64,256`); nil in reports from before the sweep.
    var connectionSweep: [Int]?
    var rounds: Int
    var closedSeconds: Double
    var openSeconds: Double
    var warmupSeconds: Double
    var rateFractions: [Double]
    var microRuns: Int
    var microRunSeconds: Double
    /// Server event-loop threads (0: the server's default, one per core).
    var serverThreads: Int
    var maxBatchSize: Int
    var baselineURL: String?
    /// Server + PostgreSQL CPU per durable bid at 64 connections (µs) of the build to beat, from
    /// `--cpu-per-bid-baseline` or the `--compare` report; nil: that target is not scored.
    var cpuPerBidBaseline: Double?
    var baselineMethod: String
    var auditRows: Int
    var auditAsOf: String
    /// Slowloris section: slow connections held open, the normal clients' fixed rate, and the
    /// seconds measured with and without the attack (each).
    var slowHeaders = 300
    var slowBodies = 100
    var slowlorisRate = 5_000.0
    var slowlorisSeconds = 12.0
    var slowlorisRounds = 3
    var slowlorisTargets = ["ceiling", "bid"]
    var loadGenerator =
        "1 thread, non-blocking POSIX sockets, epoll (epoll_pwait2, ns timeouts), keep-alive, 1 request in flight per connection"
}
