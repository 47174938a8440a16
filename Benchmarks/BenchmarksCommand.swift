import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `swift run -c release Benchmarks`: the bid path measured end to end and in pieces.
@main
struct BenchmarksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Benchmarks",
        abstract:
            "Measures BidEngine's hot path: pure pricing, HTTP throughput and latency against a real server with PostgreSQL, the database alone, the audit, and latency during a slowloris attack.",
        discussion: """
            Sections (all by default; --skip leaves some out):
              micro  PricedBid.parse (validated, priced) and the response JSON;
                     FixedDecimal parsing; the pricing multiplication with
                     rounding; a request's trace context. Median ns/op of --micro-runs runs after a
                     warm-up; heap allocations per op (malloc-family calls).
              http   `bidengine serve --bench-endpoints` as a child process on
                     a free loopback port, with its own API key and the
                     database below. Load comes from a built-in generator:
                     one thread, non-blocking POSIX sockets, epoll, keep-alive,
                     one request in flight per connection (no pipelining).
                     Closed loop: at each of --connections (16,64,256) for
                     --duration s, --rounds rounds interleaving POST /api/bid,
                     POST /bench/ceiling (fixed answer, no database) and
                     --baseline; the bid path's ratio to the ceiling at each. After each
                     bid run the 200s are checked against the rows of `bids`
                     (truncated before each run); batch sizes come from
                     PostgreSQL and GET /metrics. Open loop: fixed rates at
                     --rates x the bid path's maximum, latency from each
                     request's scheduled send time (coordinated omission
                     corrected, like wrk2) in HdrHistogram.
              db     The same bids through BidWriter (same statement, same
                     batching) on standalone event loops, no HTTP: rows/s at
                     the HTTP run's concurrency, and with full batches.
              audit  If `bidengine audit` exists: seeds --audit-rows bids with
                     COPY, times `bidengine audit --as-of` as a child process
                     (wall, CPU, peak RSS from wait4) next to `SELECT count(*)`
                     of the same window, and their ratio.
              slowloris  Normal clients at --slowloris-rate (open loop, as
                     above) for --slowloris-duration s without an attack,
                     then the same while --slow-headers connections trickle
                     request headers and --slow-bodies connections stall
                     their bodies, one byte per 100 ms, never finishing
                     (each one the server closes is replaced at once);
                     against POST /bench/ceiling and POST /api/bid (--quick:
                     the ceiling only), --slowloris-rounds rounds, medians
                     reported. The server runs with its default timeouts
                     (request 10 s), so each window covers their closing;
                     lifetimes of the slow connections are reported.
              bulk   POST /api/bids/batch with 10 and 100 valid bids per
                     request against single POST /api/bid, at 16 and 64
                     connections (closed loop, --rounds interleaved rounds,
                     rows checked after each run); bids/s against the
                     database's full-batch rate from `db`; then single bids
                     at a quarter of their closed-loop rate (open loop)
                     alone, then beside 100-bid bulk requests offered at
                     half of theirs: their p99 shows whether bulk starves
                     them.
              isolation  single bids at 10 % of their closed-loop rate
                     (open loop, 16 connections) alone, beside bulk that
                     saturates (100-bid requests, closed loop), and beside
                     a key sending at 10× its quota: p99, p99.9, ratios,
                     the share of the excess refused with 429.

            Database: a throwaway cluster under --state-dir (unix socket,
            --postgres-port, default durability), deleted afterwards; with
            BENCH_DATABASE_URL, a database bidengine_bench recreated there.

            Server: the bidengine next to this executable. Run from a SwiftPM
            build directory, it is rebuilt first (same configuration and
            scratch path), so `swift run -c release Benchmarks` measures the
            sources as they are; --no-build-server or --server-binary skip it.

            Output: a table on stdout, progress on stderr. --json writes every
            figure and the machine (cores, CPU, PostgreSQL, build, git
            commit); --svg a latency-by-percentile plot; --compare prints
            new/old ratios and exits 1 when a figure got worse by more than
            --tolerance.
            """)

    // MARK: Shape

    @Flag(help: "Short run (about 2 minutes): 1 round of 3 s, 2 s per rate, 100,000 audit rows.")
    var quick = false

    @Option(help: "Sections to skip, comma-separated: micro, http, db, audit, slowloris, bulk, isolation.")
    var skip: String = ""

    @Option(
        help:
            "Keep-alive connections of the load generator, comma-separated: the closed loop runs at each; the open loop, the database ceiling and the slowloris section at 64 when listed, else at the first."
    )
    var connections = "16,64,256"

    @Option(help: "Seconds measured per closed-loop run (default 10; --quick 3).")
    var duration: Double?

    @Option(help: "Closed-loop rounds per target, interleaved; the median is reported (default 3; --quick 1).")
    var rounds: Int?

    @Option(name: .customLong("rate-duration"), help: "Seconds measured per open-loop rate (default 10; --quick 2).")
    var rateDuration: Double?

    @Option(help: "Seconds of load before each measured window (default 1; --quick 0.5).")
    var warmup: Double?

    @Option(help: "Open-loop rates as fractions of the bid path's measured maximum, comma-separated.")
    var rates = "0.1,0.5,0.8"

    @Option(name: .customLong("micro-runs"), help: "Timed runs per micro benchmark (default 15; --quick 7).")
    var microRuns: Int?

    // MARK: Server and database

    @Option(
        name: .customLong("server-binary"),
        help:
            "The bidengine binary to serve (default: next to this executable, rebuilt first with `swift build --product bidengine` when this runs from a SwiftPM build directory)."
    )
    var serverBinary: String?

    @Flag(
        name: .customLong("no-build-server"),
        help: "Use the bidengine next to this executable as it is, without rebuilding it.")
    var noBuildServer = false

    @Option(
        name: .customLong("server-threads"), help: "Server event-loop threads (0: the server's default, one per core).")
    var serverThreads = 0

    @Option(
        name: .customLong("max-batch-size"), help: "The server's --max-batch-size, also used by the database ceiling.")
    var maxBatchSize = 512

    @Option(
        name: .customLong("state-dir"),
        help:
            "Working directory for the throwaway cluster and logs (deleted afterwards; default /tmp/bidengine-bench-<pid>)."
    )
    var stateDirectory: String?

    @Option(name: .customLong("postgres-port"), help: "Port of the throwaway cluster's unix socket.")
    var postgresPort = 5488

    // MARK: Baseline and audit

    @Option(
        help:
            "Another server to run the same closed and open load against, interleaved with ours: http://HOST:PORT/path."
    )
    var baseline: String?

    @Option(name: .customLong("baseline-method"), help: "HTTP method for --baseline (POST sends the same JSON bodies).")
    var baselineMethod = "POST"

    @Option(
        name: .customLong("audit-rows"),
        help: "Bids seeded for the audit benchmark (default 10,000,000; --quick 100,000; 0 skips).")
    var auditRows: Int?

    @Option(
        name: .customLong("audit-as-of"),
        help: "The --as-of instant given to `bidengine audit`; seeded bids fall in the day before it.")
    var auditAsOf = "2025-06-01T00:00:00Z"

    // MARK: Slowloris

    @Option(name: .customLong("slow-headers"), help: "Slowloris: connections trickling headers that never end.")
    var slowHeaders = 300

    @Option(name: .customLong("slow-bodies"), help: "Slowloris: connections with complete headers and a stalled body.")
    var slowBodies = 100

    @Option(name: .customLong("slowloris-rate"), help: "Slowloris: the normal clients' offered rate, requests/s.")
    var slowlorisRate = 5_000.0

    @Option(
        name: .customLong("slowloris-duration"),
        help: "Slowloris: seconds measured with and without the attack, each (default 12; --quick 11).")
    var slowlorisDuration: Double?

    @Option(
        name: .customLong("slowloris-rounds"),
        help: "Slowloris: rounds alternating no attack and attack; medians are reported (default 3; --quick 1).")
    var slowlorisRounds: Int?

    // MARK: Output

    @Option(help: "Write the full report as JSON to this file.")
    var json: String?

    @Option(help: "Write a latency-by-percentile SVG plot to this file.")
    var svg: String?

    @Option(help: "A previous --json report: print new/old ratios per figure, exit 1 on regressions.")
    var compare: String?

    @Option(
        name: .customLong("cpu-per-bid-baseline"),
        help: "Server + PostgreSQL CPU µs per durable bid at 64 connections to score against (default: from --compare)."
    )
    var cpuPerBidBaseline: Double?

    @Option(help: "Relative change tolerated by --compare before a figure is flagged (0.10 = 10 %).")
    var tolerance = 0.10

    @Option(help: "With --compare: compare this saved report instead of running the benchmarks.")
    var current: String?

    mutating func validate() throws {
        let known: Set = ["micro", "http", "db", "audit", "slowloris", "bulk", "isolation"]
        let unknown = skippedSections.subtracting(known)
        guard unknown.isEmpty else {
            throw ValidationError("unknown section(s) in --skip: \(unknown.sorted().joined(separator: ", "))")
        }
        guard !connectionSweep.isEmpty, connectionSweep.allSatisfy({ $0 > 0 }),
            connectionSweep.count == connections.split(separator: ",").count
        else { throw ValidationError("--connections must be positive integers, e.g. 16,64,256") }
        guard rateFractions.allSatisfy({ $0 > 0 }), !rateFractions.isEmpty else {
            throw ValidationError("--rates must be positive fractions, e.g. 0.1,0.5,0.8")
        }
        guard slowHeaders >= 0, slowBodies >= 0, slowlorisRate > 0, (slowlorisRounds ?? 1) > 0 else {
            throw ValidationError(
                "--slow-headers and --slow-bodies must not be negative, --slowloris-rate and --slowloris-rounds positive"
            )
        }
        if current != nil, compare == nil { throw ValidationError("--current needs --compare") }
        if let baseline { _ = try HTTPTarget.parse(url: baseline) }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        if let compare, let current {
            let regressions = try ReportComparison.compare(
                oldPath: compare, new: try ReportComparison.figures(at: current), tolerance: tolerance)
            if regressions > 0 { throw ExitCode(1) }
            return
        }
        var settings = settings
        settings.cpuPerBidBaseline = try cpuPerBidBaseline ?? compare.flatMap(Self.cpuPerBid(inReport:))
        let run = BenchmarkRun(
            settings: settings, command: (["Benchmarks"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
            serverBinary: serverBinary, buildServer: !noBuildServer,
            stateDirectory: stateDirectory ?? "/tmp/bidengine-bench-\(getpid())",
            postgresPort: postgresPort)
        let report = try run.run()
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(
                positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
            Console.progress("wrote \(json)")
        }
        if let svg {
            try LatencyPlot.render(report).write(toFile: svg, atomically: true, encoding: .utf8)
            Console.progress("wrote \(svg)")
        }
        if let compare {
            let regressions = try ReportComparison.compare(oldPath: compare, new: report.figures, tolerance: tolerance)
            if regressions > 0 { throw ExitCode(1) }
        }
    }

    /// The CPU per durable bid at 64 connections of a saved report (the `--compare` baseline).
    private static func cpuPerBid(inReport path: String) throws -> Double? {
        try ReportComparison.figures(at: path).first { $0.name == "http.bid.cpu_us_per_bid.c64" }?.value
    }

    private var skippedSections: Set<String> {
        Set(skip.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    private var connectionSweep: [Int] {
        connections.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    private var rateFractions: [Double] {
        rates.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
    }

    private var settings: BenchmarkSettings {
        BenchmarkSettings(
            quick: quick,
            sections: ["micro", "http", "db", "audit", "slowloris", "bulk", "isolation"].filter {
                !skippedSections.contains($0)
            },
            connections: connectionSweep.contains(64) ? 64 : connectionSweep.first ?? 64,
            connectionSweep: connectionSweep,
            rounds: rounds ?? (quick ? 1 : 3),
            closedSeconds: duration ?? (quick ? 3 : 10),
            openSeconds: rateDuration ?? (quick ? 2 : 10),
            warmupSeconds: warmup ?? (quick ? 0.5 : 1),
            rateFractions: rateFractions,
            microRuns: microRuns ?? (quick ? 7 : 15),
            microRunSeconds: quick ? 0.02 : 0.05,
            serverThreads: serverThreads,
            maxBatchSize: maxBatchSize,
            baselineURL: baseline,
            baselineMethod: baselineMethod.uppercased(),
            auditRows: auditRows ?? (quick ? 100_000 : 10_000_000),
            auditAsOf: auditAsOf, slowHeaders: slowHeaders, slowBodies: slowBodies, slowlorisRate: slowlorisRate,
            slowlorisSeconds: slowlorisDuration ?? (quick ? 11 : 12),
            slowlorisRounds: slowlorisRounds ?? (quick ? 1 : 3),
            slowlorisTargets: quick ? ["ceiling"] : ["ceiling", "bid"])
    }
}
