import Dispatch
import HTTPTestSupport
import Synchronization
import Testing

@testable import HTTPServer

/// The router and request parsing in process, without sockets.
struct RouterTests {
    /// Dispatches `request` on a standalone loop and returns the captured reply.
    private func reply(_ router: Router, _ request: HTTPRequest) throws -> HTTPResponse {
        let loop = try EventLoop.startStandalone(name: "router-test")
        defer { loop.stopStandalone() }
        let done = DispatchSemaphore(value: 0)
        let captured = Mutex<HTTPResponse?>(nil)
        let routerBox = UncheckedBox(router)
        loop.execute {
            let responder = HTTPResponder(loop: loop) { response in
                captured.withLock { $0 = response }
                done.signal()
            }
            routerBox.value.dispatch(request, to: responder)
        }
        _ = done.wait(timeout: .now() + 5)
        return try #require(captured.withLock { $0 })
    }

    private func echoRouter() -> Router {
        var router = Router()
        let echo: (String) -> HTTPHandler = { name in
            { request, responder in
                let parameters = request.pathParameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                responder.respond(status: 200, body: Array(([name] + parameters).joined(separator: " ").utf8))
            }
        }
        router.add(.GET, "/", echo("root"))
        router.add(.GET, "/api/bids", echo("list"))
        router.add(.GET, "/api/bids/", echo("list-slash"))
        router.add(.GET, "/api/bids/{id}", echo("one"))
        router.add(.DELETE, "/api/bids/{key}", echo("delete"))
        router.add(.GET, "/api/bids/latest", echo("latest"))
        router.add(.GET, "/api/bids/{id}/lines/{line}", echo("line"))
        router.add(.PUT, "/api/{section}/special", echo("special"))
        return router
    }

    @Test(arguments: [
        ("GET", "/", "root"),
        ("GET", "/api/bids", "list"),
        ("GET", "/api/bids/", "list-slash"),
        ("GET", "/api/bids/42", "one id=42"),
        ("DELETE", "/api/bids/42", "delete key=42"),
        ("GET", "/api/bids/latest", "latest"),
        ("GET", "/api/bids/7/lines/3", "line id=7 line=3"),
        ("PUT", "/api/bids/special", "special section=bids"),
    ])
    func matches(method: String, path: String, expected: String) throws {
        let response = try reply(echoRouter(), HTTPRequest(method: HTTPMethod(rawValue: method)!, path: path))
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == expected)
    }

    @Test func unknownPathsAre404AndWrongMethodsAre405() throws {
        let missing = try reply(echoRouter(), HTTPRequest(method: .GET, path: "/api/bids/7/lines"))
        #expect(missing.status == 404)
        #expect(String(decoding: missing.body, as: UTF8.self) == #"{"error":"not found"}"#)

        let wrong = try reply(echoRouter(), HTTPRequest(method: .POST, path: "/api/bids/9"))
        #expect(wrong.status == 405)
        #expect(wrong.headers.first { $0.0 == "Allow" }?.1 == "GET, DELETE, HEAD")

        // A literal route shadows a parameter route for its whole path: POST /api/bids/batch
        // exists, so GET there is that route's 405, not GET /api/bids/{id} with id "batch".
        var router = echoRouter()
        router.add(.POST, "/api/bids/batch") { _, responder in responder.respond(status: 200) }
        let shadowed = try reply(router, HTTPRequest(method: .GET, path: "/api/bids/batch"))
        #expect(shadowed.status == 405)
        #expect(shadowed.headers.first { $0.0 == "Allow" }?.1 == "POST")
        #expect(try reply(router, HTTPRequest(method: .GET, path: "/api/bids/batches")).status == 200)
    }

    @Test func encodedSlashStaysInsideOneSegment() {
        var router = Router()
        router.add(.GET, "/files/{name}") { _, _ in }
        guard
            case .found(_, let parameters) = router.resolve(method: .GET, path: "/files/a%2Fb", isPercentEncoded: true)
        else {
            Issue.record("no match")
            return
        }
        #expect(parameters == ["name": "a/b"])
    }

    @Test func decodesQueriesAndPaths() {
        #expect(
            PercentDecoding.parseQuery("a=1&b=x+y%20z&a=2&flag&=v"[...]) == [
                "a": "2", "b": "x y z", "flag": "", "": "v",
            ])
        #expect(PercentDecoding.decode("caf%C3%A9%zz%4"[...]) == "café%zz%4")
        #expect(PercentDecoding.decode("a+b"[...]) == "a+b")
    }

    @Test func headerLookupIgnoresCase() {
        let headers = HTTPHeaders([("Content-Type", "application/json"), ("X-Id", "1"), ("x-id", "2")])
        #expect(headers["content-type"] == "application/json")
        #expect(headers["X-ID"] == "1")
        #expect(headers["Missing"] == nil)
    }

    @Test func forgottenInProcessResponderStillAnswers500() throws {
        var router = Router()
        router.add(.GET, "/forget") { _, _ in }
        let response = try reply(router, HTTPRequest(method: .GET, path: "/forget"))
        #expect(response.status == 500)
    }
}

/// Hands a non-Sendable value to the loop the test controls; the test never touches it again.
private final class UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
