import BidCore
import Postgres

/// Writes a stored run's report in any format, on a blocking session (the command line).
///
/// Text and HTML list the worst `rowLimit` flags and products. JSON and CSV carry every flag:
/// they are read through a server-side cursor in batches and written as they arrive, so a run
/// with millions of flags exports in constant memory.
public struct AuditExporter {
    public let connectionString: String
    /// The most flags and products the text and HTML reports list.
    public var rowLimit: Int
    /// Rows per `FETCH` of the JSON and CSV exports.
    var batchSize = 10_000

    public init(connectionString: String, rowLimit: Int = 1000) {
        self.connectionString = connectionString
        self.rowLimit = rowLimit
    }

    public func export(runID: Int64, format: AuditReportFormat, to output: AuditOutput) throws {
        let session = try PostgresSession(connectionString: connectionString)
        defer { session.close() }
        switch format {
        case .text, .html:
            var loaded: Result<AuditReport?, PostgresError> = .success(nil)
            // A session answers before `load` returns.
            AuditReportLoader(database: session, rowLimit: rowLimit).load(runID: runID) { loaded = $0 }
            guard let report = try loaded.get() else { throw AuditError.runNotFound(runID) }
            try output.write(format == .text ? AuditTextReport.render(report) : AuditHTMLReport.render(report))
        case .json:
            try exportJSON(runID: runID, session: session, to: output)
        case .csv:
            try exportCSV(runID: runID, session: session, to: output)
        }
        try output.finish()
    }

    // MARK: Streams

    private func exportCSV(runID: Int64, session: PostgresSession, to output: AuditOutput) throws {
        let run = try record(runID, session: session)
        let rule = run.rule
        try output.write(AuditCSV.header)
        try streamFlags(run, session: session) { flag in try output.write(AuditCSV.line(flag, runID: runID, rule: rule))
        }
    }

    private func exportJSON(runID: Int64, session: PostgresSession, to output: AuditOutput) throws {
        let run = try record(runID, session: session)
        let rule = run.rule
        var head = JSONWriter(capacity: 4096)
        head.beginObject()
        head.key("run")
        AuditJSON.writeRun(run, to: &head)
        head.beginArray("bands")
        let bands = try AuditReportLoader.decode(
            session.execute(AuditSQL.bands, [String(runID)]).rows, AuditBandCount.init(row:),
            table: "audit_deviation_bands")
        for band in bands { AuditJSON.writeBand(band, to: &head) }
        head.endArray()
        try output.write(head.bytes + Array(#","top_products":["#.utf8))
        let competitor = try session.execute(AuditSQL.competitorPricesAvailable).scalar == "t"
        var first = true
        try stream(AuditSQL.products(competitor: competitor), [String(runID), nil], session: session) { row in
            guard let product = AuditProductRecord(row: row) else { throw AuditSQL.unreadable("audit_products") }
            var writer = JSONWriter(capacity: 256)
            AuditJSON.writeProduct(product, to: &writer)
            try output.write((first ? [] : [UInt8(ascii: ",")]) + writer.bytes)
            first = false
        }
        try output.write(#"],"flags":["#)
        first = true
        try streamFlags(run, session: session) { flag in
            var writer = JSONWriter(capacity: 256)
            AuditJSON.writeFlag(flag, rule: rule, to: &writer)
            try output.write((first ? [] : [UInt8(ascii: ",")]) + writer.bytes)
            first = false
        }
        try output.write("]}\n")
    }

    private func record(_ runID: Int64, session: PostgresSession) throws -> AuditRunRecord {
        guard let run = try AuditRunRecord.first(of: session.execute(AuditSQL.runByID, [String(runID)])) else {
            throw AuditError.runNotFound(runID)
        }
        return run
    }

    private func streamFlags(_ run: AuditRunRecord, session: PostgresSession, _ body: (AuditFlagRecord) throws -> Void)
        throws
    {
        let competitor = try session.execute(AuditSQL.competitorPricesAvailable).scalar == "t"
        let source = run.flagSource
        try stream(
            AuditSQL.allFlags(competitor: competitor, source: source), [String(run.id)] + source.parameters,
            session: session
        ) { row in
            guard let flag = AuditFlagRecord(row: row) else { throw AuditSQL.unreadable("audit_flags") }
            try body(flag)
        }
    }

    /// Runs `query` through a cursor in its own read-only transaction, `batchSize` rows at a time.
    private func stream(
        _ query: String, _ parameters: [String?], session: PostgresSession, _ body: ([String?]) throws -> Void
    ) throws {
        try session.transaction { session in
            try session.execute("SET TRANSACTION READ ONLY")
            try session.execute("DECLARE audit_export NO SCROLL CURSOR FOR \(query)", parameters)
            while true {
                let batch = try session.execute(AuditSQL.fetch("audit_export", batchSize))
                for row in batch.rows { try body(row) }
                if batch.rows.count < batchSize { break }
            }
            try session.execute("CLOSE audit_export")
        }
    }
}
