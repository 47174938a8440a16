import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `HTTPFetching` over Foundation's `URLSession` (libcurl on Linux: HTTP/1.1 and HTTP/2, https
/// verified against the system CA store, gzip/br/zstd decoding), used in a blocking style from the
/// poller's own thread, never from an event loop.
///
/// URLSession's own timeout on Linux is one inactivity timer in whole seconds, so the three
/// timeouts are enforced here instead, to the millisecond, by the waiting thread: until the
/// response headers arrive (`connectTimeout`), between body chunks (`readTimeout`) and overall
/// (`requestTimeout`). The body cap is enforced while receiving (after decompression), so a
/// huge or endless body costs at most the cap. Redirects are not followed: a products API that
/// redirects is misconfigured, and following would leave the host the rate limit is counted for.
/// One session (and so one connection pool with keep-alive) serves every request of this object.
final class URLSessionFetcher: HTTPFetching {
    let connectTimeout: Duration
    let readTimeout: Duration
    let requestTimeout: Duration
    let maxBodyBytes: Int
    private let session: URLSession
    private let router: URLSessionTransferRouter

    init(connectTimeout: Duration, readTimeout: Duration, requestTimeout: Duration, maxBodyBytes: Int) {
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.requestTimeout = requestTimeout
        self.maxBodyBytes = maxBodyBytes
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpMaximumConnectionsPerHost = 2
        // A backstop only: the waiting thread enforces the real limits, more precisely.
        let backstop = (requestTimeout.timeInterval + 5).rounded(.up)
        configuration.timeoutIntervalForRequest = backstop
        configuration.timeoutIntervalForResource = backstop
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        queue.name = "bidengine.poller.urlsession"
        router = URLSessionTransferRouter()
        session = URLSession(configuration: configuration, delegate: router, delegateQueue: queue)
    }

    deinit {
        session.invalidateAndCancel()
    }

    func get(_ url: URL, headers: [(String, String)], cancellation: PollCancellation) -> Result<
        HTTPFetchResponse, HTTPFetchFailure
    > {
        var request = URLRequest(url: url)
        request.httpMethod = "GET"
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let task = session.dataTask(with: request)
        let transfer = URLSessionTransfer(maxBodyBytes: maxBodyBytes)
        router.register(transfer, for: task.taskIdentifier)
        defer { router.remove(task.taskIdentifier) }
        task.resume()
        return transfer.wait(
            connectTimeout: connectTimeout, readTimeout: readTimeout, requestTimeout: requestTimeout,
            cancellation: cancellation, cancel: { task.cancel() })
    }
}
