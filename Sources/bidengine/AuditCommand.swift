import ArgumentParser
import Audit
import BidCore
import BidService
import Foundation
import Logging
import Observability
import Postgres
import ServiceSettings
import TextFormats

#if canImport(Glibc)
    import Glibc
#endif

/// `bidengine audit`: one audit on demand, its report on stdout or in a file.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Audit the bids of one window now and print or write the report.",
        discussion: """
            Flags every bid with calculated_at in [as-of - window, as-of) whose adjusted CPC differs from its \
            current CPC by more than threshold x current CPC (exact decimal comparison), records the run in \
            audit_runs / audit_flags (auditing the same --as-of again replaces that run), and writes the report. \
            text and html list the worst --max-rows flags and products; json and csv carry every flag.

            Exit status: 0 when the audit ran (whatever it flagged), 3 with --fail-on-flags when anything was \
            flagged, 1 when it could not run, 64 for a bad flag or setting: among them a bare --threshold above 1 \
            (20 would mean 2,000 %: write 20% or 0.20) and an --as-of further ahead than the settle time.

            Database: DATABASE_URL, or the embedded cluster under --state-dir. Environment: AUDIT_WINDOW, \
            AUDIT_THRESHOLD, BIDENGINE_STATE_DIR, BIDENGINE_MIGRATIONS_DIR, CONNECT_TIMEOUT, \
            LOG_LEVEL (default notice: a progress line every 5 s; a bar instead when stderr is a terminal).

            Completeness: the scan starts once as-of + AUDIT_SETTLE_MS (default DATABASE_TIMEOUT_MS + 1000) has \
            passed on the database's clock, so bids stamped before as-of have committed. With DATABASE_READ_URL \
            the window is scanned on that replica after it has replayed up to the primary's WAL position; if it \
            does not within AUDIT_REPLICA_WAIT (default 60 s) the scan runs on the primary, or the run fails \
            with AUDIT_REPLICA_BEHIND=fail. Results are always written to the primary. The wait is announced \
            (notice, "waiting for bids stamped before as_of to commit", with the instant it waits for).

            A run left running by a process that ended (killed, interrupted) is marked failed, "abandoned", by \
            the next audit.

            Tracing: the OTEL_* variables of serve (docs/operations.md, "Traces of the audit, maintenance and the \
            poller"); TRACEPARENT continues a caller's trace.
            """)

    @Option(
        name: .customLong("as-of"),
        parsing: .unconditional,
        help: "End of the window (exclusive), RFC 3339, e.g. 2026-06-15T02:00:00Z (default: now).")
    var asOf: String?
    @OptionGroup var rule: RuleOptions
    @Option(parsing: .unconditional, help: "Report format: text, json, csv or html.")
    var format: String = "text"
    @Option(parsing: .unconditional, help: "Write the report to this file (replaced when complete) instead of stdout.")
    var output: String?
    @Flag(name: .customLong("fail-on-flags"), help: "Exit with status 3 when any bid is flagged.")
    var failOnFlags = false
    @Option(
        name: .customLong("max-rows"),
        parsing: .unconditional, help: "Flags and products listed by the text and html reports (worst first).")
    var maxRows: Int = 1000
    @Option(
        parsing: .unconditional,
        help: "Sessions reading the window at once (time slices) when it is read on a replica; 2 suits 2 cores.")
    var streams: Int = 2
    @Option(
        name: .customLong("report-run"), parsing: .unconditional,
        help: "Do not audit: write the report of the stored run with this id.")
    var reportRun: Int64?
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        _ = try reportFormat()
        _ = try parameters(environment: ProcessInfo.processInfo.environment)
        _ = try Self.readSource(ProcessInfo.processInfo.environment)
        guard maxRows >= 1 else { throw ValidationError("--max-rows must be at least 1") }
        if let output { try Self.checkOutputDirectory(output) }
        guard (1...16).contains(streams) else { throw ValidationError("--streams must be from 1 to 16") }
        try Self.refuseFutureAsOf(
            try parameters(environment: ProcessInfo.processInfo.environment).asOf,
            settle: try Self.readSource(ProcessInfo.processInfo.environment).settle, now: Date())
        _ = try CommonSettings.read(ProcessInfo.processInfo.environment)
        _ = try CommandTracing.settings(ProcessInfo.processInfo.environment)
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        JSONLogHandler.bootstrap(level: try CommonSettings.logLevel(environment) ?? .notice)
        // A signal ends the command at once, as it always did, but first leaves the embedded cluster.
        _ = SignalWaiter(signals: [SIGTERM, SIGINT], startupExit: .bySignal)
        let logger = Logger(label: "bidengine.audit")
        // A reader that goes away (`| head`) must give an error, not kill the process mid-transaction.
        signal(SIGPIPE, SIG_IGN)
        Self.keepFreedMemory()
        let format = try reportFormat()
        let parameters = try parameters(environment: environment)
        let tracing = try CommandTracing.start(environment, logger: logger)
        defer { tracing.finish(logger: logger) }

        // Opened before the audit: a report that cannot be written fails now, not after the whole run.
        let sink: AuditOutput
        do {
            sink = try output.map { try AuditOutput(path: $0) } ?? AuditOutput(fileDescriptor: 1)
        } catch {
            FileHandle.standardError.write(Data("bidengine audit: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let database = try self.database.open(
            environment: environment, common: try CommonSettings.read(environment))
        defer { database.embedded?.stop() }

        let runID: Int64
        var flagged: Int64 = 0
        if let reportRun {
            runID = reportRun
        } else {
            do {
                var runner = AuditRunner(connectionString: database.connectionString, logger: logger)
                runner.parallelism = streams
                runner.tracer = tracing.tracer
                runner.readSource = try Self.readSource(environment)
                Self.reportProgress(of: &runner, logger: logger)
                let run = try runner.run(parameters)
                if TerminalProgress.isTerminal, runner.progress != nil { TerminalProgress.finish() }
                runID = run.id
                flagged = run.bidsFlagged ?? 0
                logger.info(
                    "audit finished",
                    metadata: [
                        "run_id": "\(run.id)", "bids_reviewed": "\(run.bidsReviewed ?? 0)",
                        "bids_flagged": "\(flagged)",
                        "duration_ms": "\(run.durationMilliseconds ?? 0)",
                    ])
            } catch {
                FileHandle.standardError.write(Data("bidengine audit: the audit failed: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }

        do {
            try AuditExporter(connectionString: database.connectionString, rowLimit: maxRows).export(
                runID: runID, format: format, to: sink)
        } catch let failure as AuditOutput.Failure where failure.isBrokenPipe {
            // The reader has what it wanted; the run itself is stored.
        } catch {
            FileHandle.standardError.write(
                Data("bidengine audit: cannot write the report of run \(runID): \(error)\n".utf8))
            throw ExitCode(1)
        }
        if let output {
            print("audit run \(runID): \(format.rawValue) report written to \(output)")
        }
        if failOnFlags, flagged > 0 { throw ExitCode(3) }
    }

    /// A bar on stderr when it is a terminal, redrawn four times a second; otherwise a JSON log
    /// line (`notice`, "audit progress") every five seconds, so a long audit is never silent.
    static func reportProgress(of runner: inout AuditRunner, logger: Logger) {
        if TerminalProgress.isTerminal {
            runner.progressInterval = .milliseconds(250)
            runner.progress = { progress in
                let width = 30
                let filled = Int((progress.fraction ?? 0) * Double(width))
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                let of = progress.expectedAhead.map { " of ~\($0)" } ?? ""
                let line =
                    progress.stage == .reviewing
                    ? "\(progress.reviewed)\(of) bids, \(progress.rate)/s"
                    : "\(progress.reviewed) bids reviewed; \(progress.stage.rawValue)…"
                TerminalProgress.update("audit [\(bar)] \(line)")
            }
        } else {
            runner.progressInterval = .seconds(5)
            runner.progress = { progress in
                var metadata: Logger.Metadata = [
                    "stage": "\(progress.stage.rawValue)", "bids_reviewed": "\(progress.reviewed)",
                    "rate_per_s": "\(progress.rate)", "elapsed_s": "\(progress.elapsed.components.seconds)",
                ]
                if let expected = progress.expected { metadata["bids_expected"] = "\(expected)" }
                logger.notice("audit progress", metadata: metadata)
            }
        }
    }

    /// Each fetch of 10,000 bids allocates and frees about a megabyte (libpq's result, the row
    /// arrays). By default glibc returns freed memory at the top of the heap to the kernel and
    /// page-faults it back in for the next batch: about 1 s of system time per 10 million bids.
    /// Keeping up to 64 MB of freed heap (`M_TRIM_THRESHOLD`) makes the batches reuse the same
    /// pages; memory stays bounded by the batch size. `mallopt` is looked up at run time because
    /// `<malloc.h>` is not part of Swift's Glibc module; `GLIBC_TUNABLES` overrides it.
    static func keepFreedMemory() {
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }  // RTLD_DEFAULT
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(-1, 64 << 20)  // M_TRIM_THRESHOLD
        _ = mallopt(-3, 16 << 20)  // M_MMAP_THRESHOLD (also stops glibc from raising the trim threshold itself)
    }

    /// The audit scans once `as_of + settle` has passed, so an `--as-of` in the future waits until
    /// then: refused (exit 64) when that wait would be longer than the settle time itself, which
    /// catches a mistyped year instead of waiting for it silently.
    static func refuseFutureAsOf(_ asOf: Date, settle: Duration, now: Date) throws {
        let settleSeconds = Double(settle.components.seconds) + Double(settle.components.attoseconds) / 1e18
        let ahead = asOf.timeIntervalSince(now)
        guard ahead > settleSeconds else { return }
        let distance =
            ahead >= 2 * 86_400
            ? "\(Int(ahead / 86_400)) days" : ahead >= 7_200 ? "\(Int(ahead / 3_600)) hours" : "\(Int(ahead)) s"
        throw ValidationError(
            "--as-of \(AuditTime.text(AuditTime.microseconds(asOf))) is \(distance) in the future: the audit would wait until then (plus AUDIT_SETTLE_MS) for its bids to commit. Give a past instant, or leave --as-of out for now"
        )
    }

    /// `--output`'s directory must exist and be writable: checked with the other arguments (exit 64).
    static func checkOutputDirectory(_ path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--output \(path): the directory \(directory) does not exist")
        }
        guard access(directory, W_OK) == 0 else {
            throw ValidationError("--output \(path): the directory \(directory) is not writable")
        }
    }

    private func reportFormat() throws -> AuditReportFormat {
        guard let format = AuditReportFormat(rawValue: format.lowercased()) else {
            throw ValidationError(
                "--format must be one of: \(AuditReportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return format
    }

    private func parameters(environment: [String: String]) throws -> AuditParameters {
        var asOfDate = Date()
        if let asOf {
            guard let parsed = AuditParameters.parseTimestamp(asOf) else {
                throw ValidationError(
                    "--as-of must be an RFC 3339 timestamp such as 2026-06-15T02:00:00Z, got '\(asOf)'")
            }
            asOfDate = parsed
        }
        let (window, rule) = try self.rule.resolve(environment)
        return AuditParameters(asOf: asOfDate, window: window, rule: rule, trigger: .manual)
    }

    // MARK: Shared with `schedule`

    /// `DATABASE_READ_URL` and the completeness settings (`ReadSettings.auditReadSource`).
    static func readSource(_ environment: [String: String]) throws -> AuditReadSource {
        var source: AuditReadSource
        do {
            source = try AuditReadSource(environment: environment)
            _ = try DatabaseLocator.checkedURL(source.replicaConnectionString, name: "DATABASE_READ_URL")
        } catch let error as ReadSettings.Invalid {
            throw ValidationError(error.description)
        } catch {
            throw ValidationError("\(error)")
        }
        source.connectTimeoutSeconds = try CommonSettings.read(environment).connectTimeoutSeconds
        return source
    }

    /// `--window` and `--threshold`, falling back to `AUDIT_WINDOW` and `AUDIT_THRESHOLD`.
    struct RuleOptions: ParsableArguments {
        @Option(parsing: .unconditional, help: "Window length: 7d, 36h, 1d12h, 90m … (env AUDIT_WINDOW; default 7d).")
        var window: String?
        @Option(
            parsing: .unconditional,
            help:
                "Allowed deviation as a fraction of the current CPC, 0.20, or a percentage, 20% (env AUDIT_THRESHOLD; default 0.20; a bare number above 1 is refused as ambiguous)."
        )
        var threshold: String?

        func resolve(_ environment: [String: String]) throws -> (AuditWindow, AuditRule) {
            let reader = SettingReader(environment: environment)
            let window: AuditWindow
            let thresholdText: String
            do {
                window = try reader.value(Settings.auditWindow, flag: self.window)
            } catch {
                throw ValidationError(error.naming(Settings.auditWindow.label).description)
            }
            do {
                thresholdText = try reader.value(Settings.auditThreshold, flag: threshold)
            } catch {
                throw ValidationError(error.naming(Settings.auditThreshold.label).description)
            }
            // Accepted by the setting's parser, so it parses.
            let rule = AuditParameters.parseThreshold(thresholdText)!
            // "20" meant as 20 % would silently be 2,000 %: a bare number above 1 must say which it is.
            let bare = thresholdText.trimmingCharacters(in: .whitespaces)
            if !bare.hasSuffix("%"), rule.threshold > FixedDecimal(1) {
                let asPercentage = (Decimal(string: bare) ?? 0) * 100
                throw ValidationError(
                    "--threshold / AUDIT_THRESHOLD '\(bare)' is ambiguous: a bare number is a fraction of the current CPC, so it would mean \(asPercentage)%. Write \(bare)% for \(bare) percent, or a fraction such as 0.20; a deviation above 100% must be written as a percentage (\(asPercentage)%)"
                )
            }
            return (window, rule)
        }
    }
}
