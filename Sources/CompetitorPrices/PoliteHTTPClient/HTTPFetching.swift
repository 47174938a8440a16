import Foundation

/// One HTTP GET attempt, no retries: the seam between the poller's policy (rate limit, retries,
/// distrust) and the transport, so that the policy is tested without a network.
protocol HTTPFetching: Sendable {
    func get(_ url: URL, headers: [(String, String)], cancellation: PollCancellation) -> Result<
        HTTPFetchResponse, HTTPFetchFailure
    >
}
