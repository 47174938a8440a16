import HTTPServer
import Testing

/// Inputs found by the `http-request` fuzzer (scripts/ci/fuzz.sh), replayed byte for byte through the
/// real server on an in-process loop. Each input is also in Tests/Fuzz/http-request/corpus.
@Suite(.serialized)
struct FuzzRegressionTests {
    /// A reply to HEAD ends at its headers, and its `Content-Length` is the one a GET would get
    /// (RFC 9110 §8.6); a body written anyway would become the start of the next response on the
    /// kept-alive connection (`{"error":"method not allowed"}HTTP/1.1 404 Not Found…`).
    /// (Tests/Fuzz/http-request/corpus/regression-head-body)
    @Test func headReplyEndsAtItsHeaders() throws {
        let server = try InProcessHTTPServer { _ in
            var router = Router()
            router.add(.POST, "/api/bid") { _, responder in responder.respond(status: 200) }
            router.add(.GET, "/api/bid") { _, responder in responder.respond(status: 200) }
            router.add(.POST, "/api/post-only") { _, responder in responder.respond(status: 200) }
            return router
        }
        defer { server.shutdown() }
        for (request, expected) in [
            (
                "HEAD /api/nowhere HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\r\n\r\n",
                [
                    "HTTP/1.1 404 Not Found", "Content-Type: application/json", "X-Request-ID: a",
                    "X-Content-Type-Options: nosniff", "Content-Length: 21", "", "",
                ]
            ),
            (
                "HEAD /api/post-only HTTP/1.1\r\nHost: x\r\nX-Request-ID: b\r\n\r\n",
                [
                    "HTTP/1.1 405 Method Not Allowed", "Allow: POST", "Content-Type: application/json",
                    "X-Request-ID: b", "X-Content-Type-Options: nosniff", "Content-Length: 30", "", "",
                ]
            ),
            // HEAD where GET exists: GET's answer without its body.
            (
                "HEAD /api/bid HTTP/1.1\r\nHost: x\r\nX-Request-ID: c\r\n\r\n",
                ["HTTP/1.1 200 OK", "X-Request-ID: c", "X-Content-Type-Options: nosniff", "Content-Length: 0", "", ""]
            ),
        ] {
            let exchange = try server.exchange(Array(request.utf8))
            #expect(!exchange.timedOut)
            // Date varies; everything else is exact.
            let lines = String(decoding: exchange.response, as: UTF8.self)
                .split(separator: "\r\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("Date: ") }.map(
                    String.init)
            #expect(lines == expected)
        }
    }
}
