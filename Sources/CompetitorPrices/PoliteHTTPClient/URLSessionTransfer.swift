import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What the delegate has seen of one request, and the waiting thread's view of its deadlines.
final class URLSessionTransfer: @unchecked Sendable {
    // Every stored property below is guarded by `condition`.
    private let condition = NSCondition()
    private let maxBodyBytes: Int
    private let started = ContinuousClock.now
    private var lastActivity = ContinuousClock.now
    private var response: HTTPURLResponse?
    private var body: [UInt8] = []
    /// Set by whoever stopped the transfer, so its cancellation error is reported as the real cause.
    private var stopReason: HTTPFetchFailure?
    private var outcome: Result<HTTPFetchResponse, HTTPFetchFailure>?

    init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    /// False when the declared length is over the cap (the caller cancels).
    func headersReceived(_ response: URLResponse) -> Bool {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        self.response = response as? HTTPURLResponse
        lastActivity = .now
        if response.expectedContentLength > Int64(maxBodyBytes) {
            stopReason = .bodyTooLarge(limit: maxBodyBytes)
            return false
        }
        return true
    }

    /// False once the body is over the cap (the caller cancels).
    func bodyReceived(_ data: Data) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        lastActivity = .now
        guard stopReason == nil else { return false }
        guard body.count + data.count <= maxBodyBytes else {
            stopReason = .bodyTooLarge(limit: maxBodyBytes)
            body = []
            return false
        }
        body.append(contentsOf: data)
        return true
    }

    func completed(response finalResponse: URLResponse?, error: (any Error)?) {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        if let stopReason {
            outcome = .failure(stopReason)
        } else if let error {
            outcome = .failure(Self.classify(error))
        } else if let http = (finalResponse as? HTTPURLResponse) ?? response {
            var headers: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
            }
            outcome = .success(HTTPFetchResponse(status: http.statusCode, headers: headers, body: body))
        } else {
            outcome = .failure(.network("no HTTP response"))
        }
    }

    /// Blocks until the transfer completes, cancelling it when a deadline passes or `cancellation`
    /// fires. Wakes at the next deadline, and at least every 250 ms to notice cancellation.
    func wait(
        connectTimeout: Duration, readTimeout: Duration, requestTimeout: Duration,
        cancellation: PollCancellation, cancel: () -> Void
    ) -> Result<HTTPFetchResponse, HTTPFetchFailure> {
        condition.lock()
        defer { condition.unlock() }
        var cancelledAt: ContinuousClock.Instant?
        while outcome == nil {
            let now = ContinuousClock.now
            if let cancelledAt {
                // The cancellation's completion normally arrives at once; never hang on it.
                if cancelledAt.duration(to: now) > .seconds(5) { return .failure(stopReason ?? .cancelled) }
            } else {
                let overall = started + requestTimeout
                let phase = response == nil ? started + connectTimeout : lastActivity + readTimeout
                var expired: HTTPFetchFailure?
                if now >= overall {
                    expired = .requestTimeout(requestTimeout)
                } else if now >= phase {
                    expired = response == nil ? .connectTimeout(connectTimeout) : .readTimeout(readTimeout)
                } else if cancellation.isCancelled {
                    expired = .cancelled
                }
                if let expired {
                    stopReason = stopReason ?? expired
                    cancelledAt = now
                    condition.unlock()
                    cancel()
                    condition.lock()
                    continue
                }
            }
            let nextDeadline = min(
                started + requestTimeout, response == nil ? started + connectTimeout : lastActivity + readTimeout)
            let sleep = min(max(now.duration(to: nextDeadline), .milliseconds(1)), .milliseconds(250))
            _ = condition.wait(until: Date(timeIntervalSinceNow: sleep.timeInterval))
        }
        return outcome!
    }

    /// libcurl's certificate and handshake failures cannot be fixed by retrying; everything else
    /// that ends a transfer without a response (refused, reset, DNS) might be.
    private static func classify(_ error: any Error) -> HTTPFetchFailure {
        let nsError = error as NSError
        let underlying = (nsError.userInfo[NSUnderlyingErrorKey] as? NSError)?.localizedDescription ?? ""
        var parts: [String] = []
        for part in [nsError.localizedDescription, underlying]
        where !part.isEmpty && part != "(null)" && !parts.contains(part) {
            parts.append(part)
        }
        let message = parts.joined(separator: ": ")
        switch nsError.code {
        case NSURLErrorCancelled:
            return .cancelled
        case NSURLErrorTimedOut:
            return .network("timed out (\(message))")
        case NSURLErrorServerCertificateUntrusted, NSURLErrorServerCertificateHasBadDate,
            NSURLErrorServerCertificateNotYetValid,
            NSURLErrorServerCertificateHasUnknownRoot, NSURLErrorSecureConnectionFailed,
            NSURLErrorClientCertificateRejected:
            return .tls(message)
        default:
            // FoundationNetworking reports several libcurl TLS failures with code -1; the message says which.
            let lowered = message.lowercased()
            if lowered.contains("ssl") || lowered.contains("certificate") || lowered.contains("tls") {
                return .tls(message)
            }
            return .network(message.isEmpty ? "error \(nsError.code)" : message)
        }
    }
}
