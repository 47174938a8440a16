import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The session's delegate: forwards each callback to the `URLSessionTransfer` of its task.
final class URLSessionTransferRouter: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // Mutable state lives in the Mutex; the class is otherwise immutable.
    private let transfers = Mutex<[Int: URLSessionTransfer]>([:])

    func register(_ transfer: URLSessionTransfer, for identifier: Int) {
        transfers.withLock { $0[identifier] = transfer }
    }

    func remove(_ identifier: Int) {
        _ = transfers.withLock { $0.removeValue(forKey: identifier) }
    }

    private func transfer(_ task: URLSessionTask) -> URLSessionTransfer? {
        transfers.withLock { $0[task.taskIdentifier] }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        // On Linux the disposition is ignored; an oversized body is stopped with `cancel()`.
        if transfer(dataTask)?.headersReceived(response) == false { dataTask.cancel() }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        if transfer(dataTask)?.bodyReceived(data) == false { dataTask.cancel() }
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        transfer(task)?.completed(response: task.response, error: error)
    }
}
