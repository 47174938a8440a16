import Foundation
import Logging
import Observability
import Telemetry

/// One run over one source: lock, page through, store, count, finish the `poll_runs` row.
/// Whatever the source does, this returns a summary; it never throws and never traps.
struct SourcePoll {
    let source: CompetitorSource
    let configuration: PollerConfiguration
    let fetcher: PoliteFetcher
    let connectionString: String
    let logger: Logger
    let cancellation: PollCancellation
    /// The source's span (`PollSpans.source`), started; `run` ends it.
    var trace: TraceSpan

    /// Rejected items logged one by one per page; beyond that, one line with the count.
    static let rejectionsLoggedPerPage = 20

    func run() -> PollRunSummary {
        var trace = self.trace
        trace.set(PollSpans.competitor, source.name)
        let summary = poll(trace: trace)
        PollSpans.describe(summary, on: &trace)
        trace.end(error: summary.status == .failed ? summary.error ?? "failed" : nil)
        return summary
    }

    private func poll(trace: TraceSpan) -> PollRunSummary {
        var summary = PollRunSummary(source: source.name)
        let store: CompetitorPriceStore
        do {
            store = try CompetitorPriceStore(connectionString: connectionString, pooler: configuration.pooler)
        } catch {
            summary.status = .failed
            summary.errors = 1
            summary.error = "database: \(error)"
            logger.error("poll not started", metadata: ["source": "\(source)", "error": "\(error)"])
            return summary
        }
        defer { store.close() }
        do {
            guard try store.tryLock(source: source.name) else {
                let reason = "another process is polling this source"
                summary.status = .skipped
                summary.error = reason
                summary.runID = try store.recordSkipped(source: source.name, reason: reason)
                logger.notice("poll skipped", metadata: ["source": "\(source)", "reason": "\(reason)"])
                return summary
            }
            defer { store.unlock(source: source.name) }
            try store.abandonStaleRuns(source: source.name)
            summary.runID = try store.startRun(source: source.name)
            try paginate(store: store, runID: summary.runID!, summary: &summary, trace: trace)
            try store.finishRun(summary, runID: summary.runID!)
        } catch {
            // The database failed mid-run: what was committed stays; the row says why it stopped.
            summary.status = summary.pages > 0 ? .partial : .failed
            summary.errors += 1
            summary.error = "database: \(error)"
            logger.error("poll stopped by the database", metadata: ["source": "\(source)", "error": "\(error)"])
            if let runID = summary.runID { try? store.finishRun(summary, runID: runID) }
        }
        logger.info(
            "poll finished",
            metadata: [
                "source": "\(source)", "run": "\(summary.runID.map(String.init) ?? "-")",
                "status": "\(summary.status.rawValue)",
                "pages": "\(summary.pages)", "seen": "\(summary.itemsSeen)", "stored": "\(summary.itemsStored)",
                "rejected": "\(summary.itemsRejected)", "errors": "\(summary.errors)",
                "requests": "\(summary.requests)",
                "error": "\(summary.error ?? "")",
            ])
        return summary
    }

    /// Fetches and stores pages until the listing is covered or the run must stop, leaving the
    /// status and counters in `summary`. Throws only when the database fails.
    ///
    /// Every page failure counts one error and sets `error`; so does a stop that is not the
    /// consequence of a failure just counted (a page limit, an empty page before `total`).
    private func paginate(
        store: CompetitorPriceStore, runID: Int64, summary: inout PollRunSummary, trace: TraceSpan
    ) throws {
        var pagination = ProductPagination(
            pageSize: configuration.pageSize, maxPages: configuration.maxPages,
            maxConsecutiveFailures: configuration.maxConsecutivePageFailures)
        let parser = configuration.parser
        var storedIDs = Set<String>()
        var next = pagination.start()
        var pageNumber = 0
        while case .fetch(let skip) = next {
            pageNumber += 1
            let url = source.pageURL(limit: configuration.pageSize, skip: skip)
            var span = trace.child(
                PollSpans.page, kind: .client,
                attributes: [
                    (PollSpans.pageNumber, .int(Int64(pageNumber))), (PollSpans.skip, .int(Int64(skip))),
                    ("server.address", .string(source.host)), ("url.full", .string(url.absoluteString)),
                ])
            var outcome = PollSpans.PageOutcome.cancelled
            var pageError: String?
            var requests = summary.requests
            var lastStatus: Int?
            var rateLimitWait = Duration.zero
            defer {
                span.set(PollSpans.outcome, outcome.rawValue)
                if let lastStatus { span.set("http.response.status_code", lastStatus) }
                span.end(error: pageError)
            }
            let fetched = fetcher.fetch(
                url, host: source.host, cancellation: cancellation, onResponse: { lastStatus = $0 }
            ) { wait in
                requests += 1
                rateLimitWait += wait
            }
            span.set(PollSpans.requests, requests - summary.requests)
            span.set(PollSpans.rateLimitWaitMilliseconds, Self.milliseconds(rateLimitWait))
            summary.requests = requests

            let body: [UInt8]
            switch fetched {
            case .failure(.cancelled):
                next = .stop(Self.cancelled)
                continue
            case .failure(let failure):
                recordPageFailure("\(failure)", skip: skip, summary: &summary)
                outcome = .fetchFailed
                pageError = "\(failure)"
                next = pagination.pageFailed(summary.error!, fatal: Self.endsRun(failure))
                continue
            case .success(let bytes):
                body = bytes
            }

            let page: ProductsPage
            switch parser.parse(body) {
            case .failure(let rejection):
                recordPageFailure("page rejected: \(rejection)", skip: skip, summary: &summary)
                outcome = .rejected
                pageError = "page rejected: \(rejection)"
                next = pagination.pageFailed(summary.error!, fatal: false)
                continue
            case .success(let parsed):
                page = parsed
            }

            switch pagination.pageParsed(total: page.total, echoedSkip: page.skip, count: page.count) {
            case .reject(let reason, let then):
                recordPageFailure("page rejected: \(reason)", skip: skip, summary: &summary)
                outcome = .rejected
                pageError = "page rejected: \(reason)"
                next = then
            case .store(let then):
                var items: [CompetitorItem] = []
                var rejections = page.rejections
                for item in page.items {
                    if storedIDs.insert(item.externalID).inserted {
                        items.append(item)
                    } else {
                        rejections.append(
                            ItemRejection(index: nil, externalID: item.externalID, reason: .seenOnEarlierPage))
                    }
                }
                logRejections(rejections, skip: skip)
                var counted = summary
                counted.pages += 1
                counted.itemsSeen += page.count
                counted.itemsRejected += rejections.count
                let stored: Int
                do {
                    stored = try store.storePage(items, source: source.name, counters: counted, runID: runID)
                } catch {
                    outcome = .databaseFailed
                    pageError = "database: \(error)"
                    throw error
                }
                outcome = .stored
                span.set(PollSpans.items, page.count)
                span.set(PollSpans.stored, stored)
                span.set(PollSpans.rejected, rejections.count)
                summary = counted
                summary.itemsStored += stored
                reportPage(
                    summary, skip: skip, items: page.count, stored: stored, total: page.total, wait: rateLimitWait)
                if case .stop(let reason) = then {
                    summary.errors += 1
                    summary.error = reason
                }
                next = then
            }
        }
        switch next {
        case .stop(Self.cancelled):
            summary.status = .cancelled
            summary.error = Self.cancelled
        case .stop(let reason):
            summary.error = reason
            summary.status = summary.pages > 0 ? .partial : .failed
        case .done, .fetch:
            summary.status = summary.errors == 0 ? .ok : (summary.pages > 0 ? .partial : .failed)
        }
    }

    private static let cancelled = "cancelled"

    private static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// One `info` line per stored page, so a long poll (500 pages at 40 a minute) is never silent,
    /// and on a terminal a progress line that rewrites itself.
    private func reportPage(
        _ summary: PollRunSummary, skip: Int, items: Int, stored: Int, total: Int, wait: Duration
    ) {
        let pages = configuration.pageSize > 0 ? (total + configuration.pageSize - 1) / configuration.pageSize : 0
        let expected = min(pages, configuration.maxPages)
        logger.info(
            "page stored",
            metadata: [
                "source": "\(source)", "page": "\(summary.pages)", "pages_expected": "\(expected)", "skip": "\(skip)",
                "items": "\(items)", "stored": "\(stored)", "total": "\(total)",
                "rate_limit_wait_ms": "\(Self.milliseconds(wait))",
            ])
        guard configuration.progressOnTerminal else { return }
        TerminalProgress.update(
            "\(source): page \(summary.pages)/\(expected), \(summary.itemsSeen) items, \(summary.itemsStored) stored")
    }

    private func recordPageFailure(_ description: String, skip: Int, summary: inout PollRunSummary) {
        summary.errors += 1
        summary.error = "skip=\(skip): \(description)"
        logger.warning(
            "page unusable", metadata: ["source": "\(source)", "skip": "\(skip)", "error": "\(description)"])
    }

    /// Failures saying the source is unavailable to us for now (down after every retry,
    /// refusing, redirecting, asking us to go away): further pages would fail alike. An
    /// oversized body is one page's problem.
    private static func endsRun(_ failure: PageFetchError) -> Bool {
        if case .transport(.bodyTooLarge, _) = failure { return false }
        return true
    }

    private func logRejections(_ rejections: [ItemRejection], skip: Int) {
        for rejection in rejections.prefix(Self.rejectionsLoggedPerPage) {
            logger.warning(
                "item rejected",
                metadata: [
                    "source": "\(source)", "skip": "\(skip)", "index": "\(rejection.index.map(String.init) ?? "-")",
                    "external_id": "\(rejection.externalID ?? "-")", "reason": "\(rejection)",
                ])
        }
        if rejections.count > Self.rejectionsLoggedPerPage {
            logger.warning(
                "more items rejected",
                metadata: [
                    "source": "\(source)", "skip": "\(skip)",
                    "count": "\(rejections.count - Self.rejectionsLoggedPerPage)",
                ])
        }
    }
}
