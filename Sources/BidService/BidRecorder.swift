import BidCore
import HTTPServer

/// Where `BidRoutes` sends a priced bid to be stored: the batching `BidWriter` in the server.
///
/// A seam at the writer boundary so that the whole request path (evhttp, router, handler,
/// responses) can run without PostgreSQL: the fuzz harness (`Tests/Fuzz`) and tests supply a stub
/// that picks any outcome, including the failures a live database rarely produces on demand.
/// Loop-thread only, like `BidWriter`: `submit` and `completion` run on the route's loop.
protocol BidRecorder: AnyObject {
    /// Records `bid` (at most once per `idempotencyKey`) and calls `completion` exactly once;
    /// `trace` is the request's, for the statement's span.
    func submit(
        _ bid: PricedBid, idempotencyKey: String?, trace: TraceContext, completion: @escaping BidWriter.Completion)
}

extension BidWriter: BidRecorder {}

/// Where `BulkBidRoutes` sends the valid items of a bulk request: `BidWriter` in the server, a
/// stub in tests. All bids of one call commit together or not at all.
protocol BidGroupRecorder: AnyObject {
    /// Records `bids` in one commit (at most once per `idempotencyKey`, which must come with the
    /// same `request`) and calls `completion` exactly once, with one `Recorded` per bid.
    func submit(
        group bids: [PricedBid], idempotencyKey: String?, request: String?, trace: TraceContext,
        completion: @escaping BidWriter.GroupCompletion)
}
