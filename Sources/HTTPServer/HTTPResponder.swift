internal import Synchronization

/// The single reply of one request.
///
/// Exactly one `respond` wins; later calls are ignored. If the responder is deinitialised without
/// a reply it answers 500, so a forgotten request cannot hang a client or hold its connection. Meant for the loop thread; when the work finished elsewhere, `respond` (and the
/// deinit fallback) hop to `loop` by themselves, which is why the type is `Sendable`: the claim
/// on the reply is an atomic flag and the reply itself is always written on the loop thread.
public final class HTTPResponder: @unchecked Sendable {
    /// The loop that owns the request, to hop back to when work finishes on another thread.
    public let loop: EventLoop
    private let sink: ResponseSink
    private let claimed = Atomic<Bool>(false)
    /// Access-log fields added before the reply (by a wrapper such as authentication).
    private let addedLogFields = Mutex<[(String, String)]>([])

    init(loop: EventLoop, sink: ResponseSink) {
        self.loop = loop
        self.sink = sink
    }

    /// An in-process responder: the reply goes to `capture` on `loop`'s thread. For tests of
    /// handlers and for `Router.dispatch`.
    public convenience init(loop: EventLoop, capture: @escaping (HTTPResponse) -> Void) {
        self.init(loop: loop, sink: .capture(capture))
    }

    deinit {
        guard !claimed.load(ordering: .acquiring) else { return }
        Self.deliver(
            sink, on: loop, status: 500, headers: Router.jsonContentType, body: Self.missingReplyBody,
            logFields: addedLogFields.withLock { $0 })
    }

    /// Fields for the access log line of this request, ahead of those given with the reply: what
    /// a wrapper knows before the handler runs (the caller's key name, say).
    public func addLogFields(_ fields: [(String, String)]) {
        addedLogFields.withLock { $0 += fields }
    }

    /// Whether a reply has been claimed (it may still be on its way to the loop thread).
    public var hasResponded: Bool {
        claimed.load(ordering: .acquiring)
    }

    /// Sends the reply. `Content-Type` is sent only when `headers` has one; `Content-Length` is
    /// added by the server (`HTTPResponseHead`). `logFields` reach the exchange observer (access log), not the client.
    public func respond(
        status: Int, headers: [(String, String)] = [], body: [UInt8] = [], logFields: [(String, String)] = []
    ) {
        guard claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        let fields = addedLogFields.withLock { $0 } + logFields
        Self.deliver(sink, on: loop, status: status, headers: headers, body: body, logFields: fields)
    }

    private static let missingReplyBody = Array(#"{"error":"internal server error"}"#.utf8)

    private static func deliver(
        _ sink: ResponseSink, on loop: EventLoop, status: Int, headers: [(String, String)], body: [UInt8],
        logFields: [(String, String)] = []
    ) {
        if loop.inEventLoop {
            sink.deliver(status: status, headers: headers, body: body, logFields: logFields)
        } else {
            loop.execute { sink.deliver(status: status, headers: headers, body: body, logFields: logFields) }
        }
    }
}
