import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// OTLP over `URLSession`, for `https://` endpoints (TLS). Each export waits on a semaphore for
/// the session's answer, at most the timeout and one second more.
final class OTLPURLSessionTransport: OTLPTransport {
    private let endpoint: URL
    private let headers: [(String, String)]
    private let timeout: Duration
    private let session: URLSession

    init(endpoint: URL, headers: [(String, String)], timeout: Duration) {
        self.endpoint = endpoint
        self.headers = headers
        self.timeout = timeout
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.timeoutIntervalForRequest = timeout.seconds
        session = URLSession(configuration: sessionConfiguration)
    }

    func post(_ body: [UInt8]) -> Bool {
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.httpBody = Data(body)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let done = DispatchSemaphore(value: 0)
        // Written before `signal`, read after `wait`: the semaphore orders the two.
        nonisolated(unsafe) var accepted = false
        let task = session.dataTask(with: request) { _, response, _ in
            if let status = (response as? HTTPURLResponse)?.statusCode, (200..<300).contains(status) {
                accepted = true
            }
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + timeout.seconds + 1) == .timedOut {
            task.cancel()
            return false
        }
        return accepted
    }

    func close() {}
}
