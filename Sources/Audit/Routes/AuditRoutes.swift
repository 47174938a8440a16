import BidCore
public import HTTPServer
public import JSONRoutes
public import Logging
public import Postgres
import TextFormats

/// The audit API, read through the loop's non-blocking connection (handlers never block the loop):
///
/// - `GET /api/audits?limit=&before=`: runs, newest `as_of` first; `next_before` continues.
/// - `GET /api/audits/latest`: the newest succeeded run, shaped like `GET /api/audits/{id}`.
/// - `GET /api/audits/{id}?limit=&after=`: the run, its band counts, its ten worst products and a
///   page of its flags in bid-id order; `next_after` continues.
/// - `GET /api/audits/{id}/report.html`: the self-contained HTML report.
///
/// Every statement reads one page or the bounded top-N through an index, so a run with millions
/// of flags costs a request the same as a small one.
public struct AuditRoutes {
    let connection: any PostgresQuerying
    /// The most flags and products the HTML report lists.
    let reportRowLimit: Int
    let retryAfterSeconds: Int
    let logger: Logger
    /// The loop's rate-limited log of database failures (`DatabaseReads.failures`); without one,
    /// failed reads go to `logger` unlimited.
    let failures: DatabaseFailureLog?

    static let pageLimits = 1...1000
    static let defaultRunsLimit = 50
    static let defaultFlagsLimit = 100
    static let topProducts = 10

    public init(
        connection: any PostgresQuerying, reportRowLimit: Int = 1000, retryAfterSeconds: Int = 1,
        logger: Logger = Logger(label: "bidengine.audit.api"), failures: DatabaseFailureLog? = nil
    ) {
        self.connection = connection
        self.reportRowLimit = reportRowLimit
        self.retryAfterSeconds = retryAfterSeconds
        self.logger = logger
        self.failures = failures
    }

    public func register(into router: inout Router) {
        router.add(.GET, "/api/audits") { request, responder in self.listRuns(request, responder) }
        // A literal segment wins over `{id}` in the router, so "latest" is never read as an id.
        router.add(.GET, "/api/audits/latest") { request, responder in self.latestRun(request, responder) }
        router.add(.GET, "/api/audits/{id}") { request, responder in self.showRun(request, responder) }
        router.add(.GET, "/api/audits/{id}/report.html") { request, responder in self.report(request, responder) }
    }

    // MARK: Runs

    func listRuns(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let limit: Int
        var before = "infinity"
        switch Self.limit(request.query, default: Self.defaultRunsLimit) {
        case .failure(let invalid): return responder.respond(invalid.response)
        case .success(let value): limit = value
        }
        if let text = request.query["before"] {
            guard let timestamp = RFC3339Timestamp(parsing: text) else {
                return responder.respond(
                    InvalidParameter.invalid("before", expected: "an RFC 3339 timestamp such as 2026-06-15T02:00:00Z")
                        .response)
            }
            before = timestamp.canonicalText
        }
        connection.query(AuditSQL.runsPage, [before, String(limit + 1)]) { outcome in
            switch outcome {
            case .failure(let error):
                responder.respond(self.failureResponse(error, request.trace))
            case .success(let result):
                var writer = JSONWriter(capacity: 64 + 320 * min(result.rows.count, limit))
                writer.beginObject()
                writer.beginArray("runs")
                var last: AuditRunRecord?
                for row in result.rows.prefix(limit) {
                    guard let run = AuditRunRecord(row: row) else {
                        return responder.respond(self.failureResponse(AuditSQL.unreadable("audit_runs"), request.trace))
                    }
                    AuditJSON.writeRun(run, to: &writer)
                    last = run
                }
                writer.endArray()
                if result.rows.count > limit, let last {
                    writer.member("next_before", last.asOfText)
                } else {
                    writer.nullMember("next_before")
                }
                writer.endObject()
                responder.respond(JSONResponse.ok(writer.bytes))
            }
        }
    }

    func latestRun(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let page: (limit: Int, after: Int64)
        switch Self.flagPage(request.query) {
        case .failure(let invalid): return responder.respond(invalid.response)
        case .success(let value): page = value
        }
        connection.query(AuditSQL.latestRun) { outcome in
            switch outcome.flatMap({ result in
                Result { () throws(PostgresError) in try AuditRunRecord.first(of: result) }
            }) {
            case .failure(let error): responder.respond(self.failureResponse(error, request.trace))
            case .success(nil): responder.respond(JSONResponse.error(404, "no audit run has succeeded yet"))
            case .success(let run?): self.respondWithRun(run, page: page, trace: request.trace, responder)
            }
        }
    }

    func showRun(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let id = Self.runID(request) else { return responder.respond(Self.invalidID.response) }
        let page: (limit: Int, after: Int64)
        switch Self.flagPage(request.query) {
        case .failure(let invalid): return responder.respond(invalid.response)
        case .success(let value): page = value
        }
        connection.query(AuditSQL.runByID, [String(id)]) { outcome in
            switch outcome.flatMap({ result in
                Result { () throws(PostgresError) in try AuditRunRecord.first(of: result) }
            }) {
            case .failure(let error): responder.respond(self.failureResponse(error, request.trace))
            case .success(nil): responder.respond(JSONResponse.error(404, "audit run \(id) not found"))
            case .success(let run?): self.respondWithRun(run, page: page, trace: request.trace, responder)
            }
        }
    }

    /// `{"run":…,"bands":[…],"top_products":[…],"flags":[…],"next_after":…}`.
    private func respondWithRun(
        _ run: AuditRunRecord, page: (limit: Int, after: Int64), trace: TraceContext, _ responder: HTTPResponder
    ) {
        let id = String(run.id)
        let loader = AuditReportLoader(database: LoopAuditDatabase(querying: connection), rowLimit: Self.topProducts)
        loader.competitorPricesAvailable { available in
            let competitor: Bool
            switch available {
            case .success(let value): competitor = value
            case .failure(let error): return responder.respond(self.failureResponse(error, trace))
            }
            connection.query(AuditSQL.bands, [id]) { bands in
                connection.query(AuditSQL.products(competitor: competitor), [id, String(Self.topProducts)]) {
                    products in
                    let source = run.flagSource
                    connection.query(
                        AuditSQL.flagsPage(competitor: competitor, source: source),
                        [id, String(page.after), String(page.limit + 1)] + source.parameters
                    ) { flags in
                        do {
                            let bandCounts = try AuditReportLoader.decode(
                                bands.get().rows, AuditBandCount.init(row:), table: "audit_deviation_bands")
                            let top = try AuditReportLoader.decode(
                                products.get().rows, AuditProductRecord.init(row:), table: "audit_products")
                            let flagRows = try flags.get().rows
                            let pageFlags = try AuditReportLoader.decode(
                                Array(flagRows.prefix(page.limit)), AuditFlagRecord.init(row:), table: "audit_flags")
                            responder.respond(
                                JSONResponse.ok(
                                    Self.runBody(
                                        run, bands: bandCounts, products: top, flags: pageFlags,
                                        hasMore: flagRows.count > page.limit)))
                        } catch {
                            responder.respond(self.failureResponse(error, trace))
                        }
                    }
                }
            }
        }
    }

    static func runBody(
        _ run: AuditRunRecord, bands: [AuditBandCount], products: [AuditProductRecord], flags: [AuditFlagRecord],
        hasMore: Bool
    ) -> [UInt8] {
        let rule = run.rule
        var writer = JSONWriter(capacity: 1024 + 256 * flags.count)
        writer.beginObject()
        writer.key("run")
        AuditJSON.writeRun(run, to: &writer)
        writer.beginArray("bands")
        for band in bands { AuditJSON.writeBand(band, to: &writer) }
        writer.endArray()
        writer.beginArray("top_products")
        for product in products { AuditJSON.writeProduct(product, to: &writer) }
        writer.endArray()
        writer.beginArray("flags")
        for flag in flags { AuditJSON.writeFlag(flag, rule: rule, to: &writer) }
        writer.endArray()
        if hasMore, let last = flags.last {
            writer.member("next_after", last.bidID)
        } else {
            writer.nullMember("next_after")
        }
        writer.endObject()
        return writer.bytes
    }

    // MARK: HTML

    func report(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let id = Self.runID(request) else { return responder.respond(Self.invalidID.response) }
        AuditReportLoader(database: LoopAuditDatabase(querying: connection), rowLimit: reportRowLimit).load(runID: id) {
            outcome in
            switch outcome {
            case .failure(let error): responder.respond(self.failureResponse(error, request.trace))
            case .success(nil): responder.respond(JSONResponse.error(404, "audit run \(id) not found"))
            case .success(let report?):
                responder.respond(
                    status: 200,
                    headers: [
                        ("Content-Type", "text/html; charset=utf-8"),
                        // The page needs nothing but its own inline styles; say so to the browser.
                        (
                            "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
                        ),
                    ], body: Array(AuditHTMLReport.render(report).utf8))
            }
        }
    }

    // MARK: Parameters

    static let invalidID = InvalidParameter.invalid("id", expected: "a positive integer audit run id")

    static func runID(_ request: HTTPRequest) -> Int64? {
        guard let text = request.pathParameters["id"], let id = Int64(text), id > 0 else { return nil }
        return id
    }

    static func limit(_ query: [String: String], default value: Int) -> Result<Int, InvalidParameter> {
        guard let text = query["limit"] else { return .success(value) }
        guard let limit = Int(text), pageLimits.contains(limit) else {
            return .failure(
                .invalid("limit", expected: "an integer from \(pageLimits.lowerBound) to \(pageLimits.upperBound)"))
        }
        return .success(limit)
    }

    static func flagPage(_ query: [String: String]) -> Result<(limit: Int, after: Int64), InvalidParameter> {
        limit(query, default: defaultFlagsLimit).flatMap { limit in
            guard let text = query["after"] else { return .success((limit, 0)) }
            guard let after = Int64(text), after >= 0 else {
                return .failure(.invalid("after", expected: "a bid id (the next_after of a previous page)"))
            }
            return .success((limit, after))
        }
    }

    // MARK: Failures

    /// Connection trouble and deadlines are worth retrying (503); anything else is a bug or an
    /// unmigrated database (500), logged.
    func failureResponse(_ error: any Error, _ trace: TraceContext) -> HTTPResponse {
        if let error = error as? PostgresError, error.kind != .query {
            return JSONResponse.error(
                503, "database unavailable; retry later", headers: [("Retry-After", String(retryAfterSeconds))])
        }
        if let error = error as? PostgresError, let failures {
            failures.readFailed(error, reading: "audits", request: trace.logMetadata)
        } else {
            logger.tracing(trace).error("audit API query failed", metadata: ["error": "\(error)"])
        }
        return JSONResponse.error(500, JSONResponse.readFailureMessage(reading: "audits"))
    }
}
