public import Foundation
import Synchronization

/// Sends what the loops recorded to an OTLP/HTTP collector, from a thread of its own.
///
/// Every `interval`, or at shutdown, the thread takes the whole `SpanBuffer` and posts it in
/// requests of at most `maxBatch` spans as OTLP JSON to the traces endpoint, waiting at most
/// `timeout` for each. A failed export is counted, not retried: the buffer keeps filling while a
/// collector is away, and dropping is cheaper than piling up. Nothing here runs on an event loop.
///
/// An `http://` endpoint is reached over one kept-alive connection that the thread writes and
/// reads itself (`OTLPHTTPConnection`); `https://` goes through `URLSession`.
public final class OTLPExporter: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// The full traces URL (`…/v1/traces`).
        public var endpoint: URL
        /// Sent with every export (`OTEL_EXPORTER_OTLP_HEADERS`: an API key, say).
        public var headers: [(String, String)] = []
        public var timeout: Duration = .seconds(10)
        public var interval: Duration = .seconds(1)
        public var maxBatch = 512

        public init(endpoint: URL) {
            self.endpoint = endpoint
        }
    }

    public let configuration: Configuration
    public let buffer: SpanBuffer
    private let encoder: OTLPJSONEncoder
    private let transport: any OTLPTransport
    private let exportedCount = Atomic<Int>(0)
    private let failedCount = Atomic<Int>(0)
    private let exportsCount = Atomic<Int>(0)
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var stopping = false
    private var running = false
    private var finished = false

    public init(configuration: Configuration, buffer: SpanBuffer, encoder: OTLPJSONEncoder) {
        self.configuration = configuration
        self.buffer = buffer
        self.encoder = encoder
        transport =
            OTLPHTTPConnection(
                endpoint: configuration.endpoint, headers: configuration.headers, timeout: configuration.timeout)
            ?? OTLPURLSessionTransport(
                endpoint: configuration.endpoint, headers: configuration.headers, timeout: configuration.timeout)
    }

    /// Spans the collector accepted.
    public var exported: Int { exportedCount.load(ordering: .relaxed) }
    /// Spans lost because their export failed (no collector, an error status, a timeout).
    public var failed: Int { failedCount.load(ordering: .relaxed) }
    /// Export requests made, successful or not.
    public var exports: Int { exportsCount.load(ordering: .relaxed) }

    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !running else { return }
        running = true
        let thread = Thread { [self] in run() }
        thread.name = "otlp-export"
        thread.start()
    }

    /// Exports what is left and stops the thread; waits at most `deadline` for the last export.
    public func shutdown(deadline: Duration = .seconds(5)) {
        condition.lock()
        defer { condition.unlock() }
        guard running else { return }
        stopping = true
        condition.broadcast()
        let limit = Date().addingTimeInterval(deadline.seconds)
        while !finished, condition.wait(until: limit) {}
    }

    private func run() {
        while true {
            condition.lock()
            if !stopping { _ = condition.wait(until: Date().addingTimeInterval(configuration.interval.seconds)) }
            let last = stopping
            condition.unlock()
            exportWaiting()
            if last { break }
        }
        transport.close()
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Posts everything in the buffer now, on the calling thread.
    func exportWaiting() {
        var spans = buffer.drain()[...]
        while !spans.isEmpty {
            let chunk = Array(spans.prefix(configuration.maxBatch))
            spans = spans.dropFirst(chunk.count)
            if post(encoder.encode(chunk)) {
                exportedCount.add(chunk.count, ordering: .relaxed)
            } else {
                failedCount.add(chunk.count, ordering: .relaxed)
            }
        }
    }

    private func post(_ body: [UInt8]) -> Bool {
        exportsCount.add(1, ordering: .relaxed)
        return transport.post(body)
    }
}

extension Duration {
    /// In seconds, for Foundation's time intervals.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
