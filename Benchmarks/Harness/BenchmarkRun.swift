import BidCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One benchmark run: micro benchmarks, then a server child with its database for the HTTP,
/// database-ceiling and audit sections; prints as it goes and returns the report.
final class BenchmarkRun {
    private let settings: BenchmarkSettings
    private let serverBinaryOption: String?
    private let buildServer: Bool
    private let stateDirectory: String
    private let postgresPort: Int
    private var report: BenchmarkReport

    init(
        settings: BenchmarkSettings, command: String, serverBinary: String?, buildServer: Bool, stateDirectory: String,
        postgresPort: Int
    ) {
        self.settings = settings
        serverBinaryOption = serverBinary
        self.buildServer = buildServer
        self.stateDirectory = stateDirectory
        self.postgresPort = postgresPort
        let startedAt = ISO8601DateFormatter().string(from: Date())
        report = BenchmarkReport(
            startedAt: startedAt, command: command,
            machine: MachineDescription.current(postgres: "not used", database: "not used", serverBinary: "not used"),
            settings: settings)
    }

    func run() throws -> BenchmarkReport {
        let started = MonotonicClock.now()
        ReportPrinter.header(report)
        if settings.sections.contains("micro") {
            Console.progress("micro benchmarks…")
            report.micro = try MicroBenchmarks(runs: settings.microRuns, targetRunSeconds: settings.microRunSeconds)
                .run()
            ReportPrinter.micro(report.micro, settings: settings)
        }
        if settings.sections.contains(where: { ["http", "db", "audit", "slowloris", "bulk", "isolation"].contains($0) })
        {
            try withServer { server, database in try runServerSections(server, database) }
        }
        report.machine.loadAverageAtEnd = MachineDescription.loadAverage()
        if let busy = report.machine.loadAverageAtEnd.first, busy > 2.5 {
            report.notes.append(
                "the machine was busy when the run ended (1-minute load average \(Format.decimal(busy, places: 2)), of which this run accounts for at most 2): the later sections ran contended"
            )
        }
        report.targets = TargetEvaluation.evaluate(report)
        ReportPrinter.targets(report.targets)
        if let busy = report.machine.loadAverageAtStart.first, busy > 0.5 {
            report.notes.append(
                "the machine was busy when the run started (1-minute load average \(Format.decimal(busy, places: 2)) on \(report.machine.cores) cores): other work competed for the cores, so throughput is understated and latency overstated"
            )
        }
        if report.machine.buildConfiguration != "release" {
            report.notes.append("debug build: figures are not representative; use -c release")
        }
        ReportPrinter.notes(report.notes)
        report.figures = FigureBuilder.figures(for: report)
        report.durationSeconds = Double(MonotonicClock.now() - started) / 1e9
        Console.line()
        Console.line("finished in \(Format.decimal(report.durationSeconds, places: 0)) s")
        return report
    }

    // MARK: Server and database

    private func withServer(_ body: (ServerProcess, BenchDatabase) throws -> Void) throws {
        let (binary, buildNote) = try ServerBinary.resolve(explicit: serverBinaryOption, build: buildServer)
        if let buildNote { report.notes.append(buildNote) }
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        // The cluster runs as `postgres` when we are root: it must be able to reach its directory.
        chmod(stateDirectory, 0o755)
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        // Cleans up if this process dies; released (killed) once the normal clean-up below is done.
        var watchdog: Subprocess?
        defer { withExtendedLifetime(watchdog) {} }
        Console.progress(
            "starting PostgreSQL (\(BenchDatabase.environmentKey) \(ProcessInfo.processInfo.environment[BenchDatabase.environmentKey]?.isEmpty == false ? "set" : "not set: embedded cluster on port \(postgresPort)"))…"
        )
        let database = try BenchDatabase(stateDirectory: stateDirectory + "/postgres", port: postgresPort)
        defer { database.stop() }
        Console.progress("starting \(binary) serve --bench-endpoints…")
        let server = try ServerProcess(
            binary: binary, databaseURL: database.connectionString, threads: settings.serverThreads,
            maxBatchSize: settings.maxBatchSize, logPath: stateDirectory + "/server.log")
        watchdog = try? Watchdog.arm(
            benchmarkPID: getpid(), serverPID: server.pid, dataDirectory: database.cluster?.dataDirectory,
            workDirectory: stateDirectory)
        defer {
            let exit = server.stop()
            if exit.code != 0 {
                Console.progress(
                    "server exited with \(exit.code.map { "status \($0)" } ?? "signal \(exit.signal ?? 0)"); log tail:\n\(server.logTail())"
                )
            }
        }
        try server.waitUntilReady()
        report.machine.postgres = database.serverDescription()
        report.machine.database = database.description
        report.machine.serverBinary = binary
        ReportPrinter.database(report.machine)
        try body(server, database)
    }

    private func runServerSections(_ server: ServerProcess, _ database: BenchDatabase) throws {
        if settings.sections.contains("http") { try runHTTP(server, database) }
        if settings.sections.contains("db") { try runDatabaseCeiling(database) }
        if settings.sections.contains("audit") { runAudit(server.binary, database) }
        ReportPrinter.baseline(report)
        if settings.sections.contains("slowloris") { try runSlowloris(server, database) }
        if settings.sections.contains("bulk") { try runBulk(server, database) }
        if settings.sections.contains("isolation") {
            let bulk = BulkBenchmark(settings: settings, server: server, database: database)
            let outcome = try IsolationBenchmark(settings: settings, server: server, database: database, bulk: bulk)
                .run()
            report.isolation = outcome
            ReportPrinter.isolation(outcome, settings: settings)
        }
    }

    private func runBulk(_ server: ServerProcess, _ database: BenchDatabase) throws {
        ReportPrinter.bulkHeader(settings)
        var outcome = BulkBenchmark.Outcome()
        outcome.databaseFullBatchRowsPerSecond = report.databaseCeilings.first { $0.name == "saturated" }?.rowsPerSecond
        let measured = try BulkBenchmark(settings: settings, server: server, database: database).run { run in
            ReportPrinter.bulkRow(run)
        }
        outcome.runs = measured.runs
        outcome.starvation = measured.starvation
        report.bulk = outcome
        ReportPrinter.bulkSummary(outcome)
        for run in outcome.runs where !run.rowCheck.matches {
            report.notes.append("bulk \(run.name) round \(run.round): \(run.rowCheck.summary)")
        }
    }

    private func runHTTP(_ server: ServerProcess, _ database: BenchDatabase) throws {
        let http = try HTTPBenchmarks(settings: settings, server: server, database: database)
        try http.preflight()
        ReportPrinter.closedHeader(settings, targets: http.targets)
        try http.throughputRounds { run in
            report.http.append(run)
            ReportPrinter.closedRow(run)
        }
        ReportPrinter.closedSummary(report)
        for run in report.http where run.target == "bid" && run.rowCheck?.matches == false {
            report.notes.append("round \(run.round ?? 0), \(run.connections) connections: \(run.rowCheck!.summary)")
        }
        guard let maximum = report.closedThroughput("bid"), maximum > 0 else {
            report.notes.append("open-loop latency skipped: the bid path answered no 200s in the closed loop")
            return
        }
        ReportPrinter.openHeader(settings, maximum: maximum)
        try http.latencyRuns(maximum: maximum) { run in
            report.http.append(run)
            ReportPrinter.openRow(run)
        }
    }

    private func runSlowloris(_ server: ServerProcess, _ database: BenchDatabase) throws {
        let http = try HTTPBenchmarks(settings: settings, server: server, database: database)
        if !settings.sections.contains("http") { try http.preflight() }
        let targets = settings.slowlorisTargets.compactMap { name in http.targets.first { $0.name == name } }
        ReportPrinter.slowlorisHeader(settings)
        try SlowlorisBenchmark(settings: settings, server: server, database: database).run(targets) { outcome in
            report.slowloris.append(outcome)
            ReportPrinter.slowlorisRows(outcome)
        }
        ReportPrinter.slowlorisSummary(report)
    }

    private func runDatabaseCeiling(_ database: BenchDatabase) throws {
        let loops = settings.serverThreads > 0 ? settings.serverThreads : report.machine.cores
        let bids = MicroBenchmarks.bodies.compactMap { body -> PricedBid? in
            if case .success(let bid) = PricedBid.parse(body: Array(body.utf8)) { return bid }
            return nil
        }
        ReportPrinter.databaseHeader()
        // The HTTP run's concurrency (its connections split over the loops), then enough waiting
        // bids that every statement carries a full batch.
        let shapes = [
            ("same_concurrency", max(1, settings.connections / loops)),
            ("saturated", 2 * settings.maxBatchSize),
        ]
        for (name, clients) in shapes {
            Console.progress("database ceiling \(name)…")
            let outcome = try DatabaseCeiling.run(
                name: name, connectionString: database.connectionString, loops: loops, clientsPerLoop: clients,
                maxBatch: settings.maxBatchSize, warmup: settings.warmupSeconds, duration: settings.closedSeconds,
                bids: bids, database: database)
            report.databaseCeilings.append(outcome)
            ReportPrinter.databaseRow(outcome)
        }
        if let bid = report.closedThroughput("bid") {
            for ceiling in report.databaseCeilings where ceiling.rowsPerSecond > 0 {
                Console.line(
                    "   bid path over HTTP (\(Format.rate(bid))/s) = \(Format.percent(bid / ceiling.rowsPerSecond)) of \(ceiling.name)"
                )
            }
        }
    }

    private func runAudit(_ binary: String, _ database: BenchDatabase) {
        guard settings.auditRows > 0 else {
            ReportPrinter.audit(nil, skipped: "--audit-rows 0")
            return
        }
        guard AuditBenchmark.isAvailable(serverBinary: binary) else {
            let reason = "`bidengine audit` (with --as-of) does not exist in \(binary) yet"
            report.notes.append("audit benchmark skipped: " + reason)
            ReportPrinter.audit(nil, skipped: reason)
            return
        }
        Console.progress("seeding \(settings.auditRows) bids and running the audit…")
        do {
            let outcome = try AuditBenchmark.run(
                serverBinary: binary, database: database, rows: settings.auditRows, asOf: settings.auditAsOf,
                workDirectory: stateDirectory)
            report.audit = outcome
            ReportPrinter.audit(outcome, skipped: nil)
        } catch {
            report.notes.append("audit benchmark failed: \(error)")
            ReportPrinter.audit(nil, skipped: "failed: \(error)")
        }
    }
}
