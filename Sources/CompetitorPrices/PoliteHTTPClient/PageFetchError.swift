/// Why a page could not be fetched after every attempt the policy allowed.
enum PageFetchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A status that is an answer, not a hiccup (404, 401, 400…), or the last of retryable ones.
    case status(Int, attempts: Int)
    case redirect(Int, location: String?)
    case transport(HTTPFetchFailure, attempts: Int)
    /// The server asked for a pause longer than `POLL_RETRY_AFTER_MAX`; the next run will try again.
    case retryAfterTooLong(Duration, limit: Duration)
    case cancelled

    var description: String {
        switch self {
        case .status(let status, let attempts): return "HTTP \(status)\(Self.after(attempts))"
        case .redirect(let status, let location):
            return "HTTP \(status) redirect to \(location ?? "nowhere") not followed"
        case .transport(let failure, let attempts): return "\(failure)\(Self.after(attempts))"
        case .retryAfterTooLong(let delay, let limit):
            return "server asked to retry after \(delay), more than the \(limit) limit"
        case .cancelled: return "cancelled"
        }
    }

    private static func after(_ attempts: Int) -> String {
        attempts > 1 ? " (gave up after \(attempts) attempts)" : ""
    }
}
