/// Walks a listing with `limit`/`skip` until `total`, and decides what every page means for the
/// run: store it and continue, store it and finish, or reject it and stop. Pure, so that the
/// paging rules are tested without a server.
///
/// The server's numbers are checked, not trusted: a `total` that changes mid-run means the
/// listing shifted under us (items would be skipped or repeated), a `skip` echoed differently
/// means paging is ignored, an empty page before `total` would loop forever; each stops the run.
/// `maxPages` bounds a run whatever `total` claims.
struct ProductPagination {
    enum Next: Equatable {
        case fetch(skip: Int)
        /// Every item up to `total` was covered.
        case done
        /// The run ends before `total`, for this reason.
        case stop(String)
    }

    enum Verdict: Equatable {
        case store(then: Next)
        case reject(String, then: Next)
    }

    let pageSize: Int
    let maxPages: Int
    let maxConsecutiveFailures: Int
    private(set) var skip = 0
    private(set) var total: Int?
    private(set) var pagesRequested = 0
    private var consecutiveFailures = 0

    init(pageSize: Int, maxPages: Int, maxConsecutiveFailures: Int) {
        self.pageSize = pageSize
        self.maxPages = maxPages
        self.maxConsecutiveFailures = maxConsecutiveFailures
    }

    mutating func start() -> Next {
        nextFetch()
    }

    /// A page that parsed, with the paging numbers it claimed and its number of products.
    mutating func pageParsed(total pageTotal: Int, echoedSkip: Int?, count: Int) -> Verdict {
        if let echoedSkip, echoedSkip != skip {
            let reason = "server answered skip=\(echoedSkip) to skip=\(skip): paging is not honoured"
            return .reject(reason, then: .stop(reason))
        }
        if let total, total != pageTotal {
            let reason = "total changed from \(total) to \(pageTotal) at skip=\(skip)"
            return .reject(reason, then: .stop(reason))
        }
        total = pageTotal
        consecutiveFailures = 0
        if count == 0 {
            return .store(
                then: skip >= pageTotal ? .done : .stop("empty page at skip=\(skip) before total=\(pageTotal)"))
        }
        skip += count
        return .store(then: skip >= pageTotal ? .done : nextFetch())
    }

    /// A page that could not be fetched or used. `fatal` failures (the source is down, refuses,
    /// or asks us to go away) stop the run; others skip one page and go on while `total` is known.
    mutating func pageFailed(_ reason: String, fatal: Bool) -> Next {
        consecutiveFailures += 1
        if fatal { return .stop(reason) }
        guard total != nil else { return .stop("first page unusable: \(reason)") }
        guard consecutiveFailures < maxConsecutiveFailures else {
            return .stop("\(consecutiveFailures) unusable pages in a row; last: \(reason)")
        }
        skip += pageSize
        if let total, skip >= total { return .done }
        return nextFetch()
    }

    private mutating func nextFetch() -> Next {
        guard pagesRequested < maxPages else {
            return .stop("page limit \(maxPages) reached at skip=\(skip) of total=\(total.map(String.init) ?? "?")")
        }
        pagesRequested += 1
        return .fetch(skip: skip)
    }
}
