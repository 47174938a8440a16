import HTTPServer
import JSONRoutes

/// What the bid routes ask before a bid reaches the writer: which key sent it, and whether its
/// quota holds that many bids now. One per process, shared by the loops (the buckets are).
///
/// A bulk item counts as one bid, and a bulk request is admitted whole or refused whole. Only
/// bids that passed validation count (a 400 costs nothing); a bid that reaches the writer
/// counts whatever the database answers, and so does an `Idempotency-Key` replay: the check
/// comes before the database can tell a replay from a new bid, and a replay costs a round trip
/// like any write.
final class QuotaGate: Sendable {
    /// The caller, and the `RateLimit` fields for its reply (empty for a key without a quota).
    struct Admission {
        let caller: APIKey?
        let headers: [(String, String)]
        /// Set when the quota refused the request: the 429 to answer with.
        let refusal: HTTPResponse?

        static let open = Admission(caller: nil, headers: [], refusal: nil)
    }

    private let keys: APIKeys
    private let buckets: [String: QuotaBucket]
    private let metrics: KeyMetrics

    init(keys: APIKeys, metrics: KeyMetrics, clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.keys = keys
        self.metrics = metrics
        var buckets: [String: QuotaBucket] = [:]
        for key in keys.keys {
            if let quota = key.quota { buckets[key.name] = QuotaBucket(quota: quota, clock: clock) }
        }
        self.buckets = buckets
    }

    /// Takes `bids` from the quota of the key `request` carries, or refuses them all.
    func admit(_ request: HTTPRequest, bids: Int) -> Admission {
        guard let caller = keys.caller(authorization: request.headers["Authorization"]) else { return .open }
        guard let bucket = buckets[caller.name] else { return Admission(caller: caller, headers: [], refusal: nil) }
        let quota = bucket.quota
        let policy = (
            "RateLimit-Policy", "\"\(caller.name)\";q=\(quota.rate);w=1;bidengine-burst=\(quota.burst)"
        )
        switch bucket.take(bids) {
        case .admitted(let remaining, let fullIn):
            let headers = [policy, ("RateLimit", "\"\(caller.name)\";r=\(remaining);t=\(Self.wholeSeconds(fullIn))")]
            return Admission(caller: caller, headers: headers, refusal: nil)
        case .refused(let remaining, let retryAfter, let exceedsBurst):
            metrics.throttled(bids: bids, key: caller)
            let seconds = Self.wholeSeconds(retryAfter)
            let message =
                exceedsBurst
                ? "\(bids) bids is more than the burst of key '\(caller.name)' (\(quota.burst)): send at most \(quota.burst) per request"
                : "rate limit exceeded for key '\(caller.name)' (\(quota.rate) bids/s, burst \(quota.burst)): \(bids) bids asked, \(remaining) left; nothing was stored"
            let headers = [
                ("Retry-After", String(seconds)), policy,
                ("RateLimit", "\"\(caller.name)\";r=\(remaining);t=\(seconds)"),
            ]
            return Admission(
                caller: caller, headers: headers, refusal: JSONResponse.error(429, message, headers: headers))
        }
    }

    /// Counts bids stored for the admitted caller.
    func stored(_ count: Int, _ admission: Admission) {
        if let caller = admission.caller { metrics.stored(count, by: caller) }
    }

    /// Whole seconds, rounded up: `Retry-After` and `t=` promise the quota will be there by then.
    static func wholeSeconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return attoseconds > 0 ? seconds + 1 : seconds
    }
}

extension HTTPResponse {
    /// The same response with `extra` header fields after its own.
    func adding(_ extra: [(String, String)]) -> HTTPResponse {
        extra.isEmpty ? self : HTTPResponse(status: status, headers: headers + extra, body: body)
    }

    /// The same response with `extra` and then `last` (when given) after its own header fields,
    /// copied once.
    func adding(_ extra: [(String, String)], _ last: (String, String)?) -> HTTPResponse {
        guard let last else { return adding(extra) }
        var fields: [(String, String)] = []
        fields.reserveCapacity(headers.count + extra.count + 1)
        fields += headers
        fields += extra
        fields.append(last)
        return HTTPResponse(status: status, headers: fields, body: body)
    }
}
