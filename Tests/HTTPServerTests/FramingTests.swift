import Foundation
import HTTPServer
import HTTPTestSupport
import Synchronization
import Testing

/// Message framing over real sockets: every message a strict parser would frame
/// differently is refused with BidEngine's JSON, `X-Request-ID`, an exchange for the access log
/// and metrics, and `Connection: close`; the valid request sent right after it on the same
/// connection is never served.
@Suite(.serialized)
struct FramingTests {
    /// What the server saw: requests served by a handler, and every exchange observed.
    final class Seen: Sendable {
        let served = Atomic<Int>(0)
        let exchanges = Mutex<[HTTPExchange]>([])
    }

    static let follower = "GET /count HTTP/1.1\r\nHost: h\r\n\r\n"

    static func withServer(_ body: (Int, Seen) throws -> Void) throws {
        let seen = Seen()
        let configuration = TestServer.configuration { configuration in
            configuration.maxBodySize = 1_024
            configuration.exchangeObserver = { exchange in seen.exchanges.withLock { $0.append(exchange) } }
        }
        try TestServer.with(
            configuration,
            routes: { _ in
                var router = Router()
                for method in [HTTPMethod.GET, .POST, .HEAD] {
                    router.add(method, "/count") { request, responder in
                        seen.served.add(1, ordering: .relaxed)
                        responder.respond(
                            status: 200, headers: [("Content-Type", "text/plain")], body: Array(request.body))
                    }
                }
                router.add(.POST, "/bulk", bodyLimit: RouteBodyLimit(bytes: 4_096, setting: "BULK_LIMIT")) {
                    request, responder in
                    seen.served.add(1, ordering: .relaxed)
                    responder.respond(status: 200, body: Array("\(request.body.count)".utf8))
                }
                return router
            }
        ) { server in try body(server.boundPort, seen) }
    }

    /// Sends `bad` and a valid request after it, expects exactly one JSON error and the close.
    static func expectRefused(_ bad: [UInt8], status: Int, message: String) throws {
        try withServer { port, seen in
            let client = try TestHTTPClient(port: port)
            try client.send(bad + Array(follower.utf8))
            let response = try client.readResponse()
            #expect(response.status == status, "\(message)")
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.text == #"{"error":"\#(message)"}"#)
            #expect(response.header("Content-Length") == String(response.body.count))
            #expect(response.header("Connection") == "close")
            #expect(response.header("X-Content-Type-Options") == "nosniff")
            let requestID = try #require(response.header("X-Request-ID"))
            #expect(requestID.utf8.count == 32)
            // Nothing more: the follower is not answered, the connection is closed.
            #expect(client.readToClose() == [])
            #expect(seen.served.load(ordering: .relaxed) == 0)
            let observed = seen.exchanges.withLock { $0 }
            #expect(observed.map(\.status) == [status])
            #expect(observed.first?.requestID == requestID)
        }
    }

    static func expectRefused(_ bad: String, status: Int, message: String) throws {
        try expectRefused(Array(bad.utf8), status: status, message: message)
    }

    // MARK: Smuggling

    @Test func twoContentLengthsAre400() throws {
        try Self.expectRefused(
            "POST /count HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 53\r\n\r\n12345",
            status: 400, message: "more than one Content-Length")
        try Self.expectRefused(
            "POST /count HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n12345", status: 400,
            message: "invalid Content-Length")
    }

    @Test(arguments: ["gzip", "xchunked", "gzip, chunked", "chunked, gzip"])
    func unknownTransferEncodingIs501(coding: String) throws {
        try Self.expectRefused(
            "POST /count HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \(coding)\r\n\r\n", status: 501,
            message: "unsupported Transfer-Encoding")
    }

    @Test func chunkedOnHTTP10Is400() throws {
        try Self.expectRefused(
            "POST /count HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", status: 400,
            message: "chunked framing on HTTP/1.0")
    }

    @Test func controlBytesInAHeaderValueAre400() throws {
        for value in ["nul\0tail", "Bearer key\0xyz", "a\rb"] {
            try Self.expectRefused(
                "GET /count HTTP/1.1\r\nHost: h\r\nAuthorization: \(value)\r\n\r\n", status: 400,
                message: "invalid header field")
        }
    }

    @Test func connectIs501AndTraceIs405WithALengthAndClosed() throws {
        try Self.expectRefused(
            "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", status: 501, message: "method not implemented")
        try Self.expectRefused("TRACE /count HTTP/1.1\r\nHost: h\r\n\r\n", status: 405, message: "TRACE not allowed")
        try Self.withServer { port, _ in
            let client = try TestHTTPClient(port: port)
            try client.send("TRACE /count HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(try client.readResponse().header("Allow") == "GET, POST, HEAD")
        }
    }

    // MARK: Limits and malformed messages

    @Test func longURIIs414() throws {
        try Self.expectRefused(
            "GET /" + String(repeating: "a", count: 100_000) + " HTTP/1.1\r\nHost: h\r\n\r\n", status: 414,
            message: "URI too long")
    }

    @Test func tooManyOrTooLargeHeadersAre431() throws {
        try Self.expectRefused(
            "GET /count HTTP/1.1\r\nHost: h\r\n" + String(repeating: "X-A: b\r\n", count: 2_000) + "\r\n", status: 431,
            message: "too many header fields")
        try Self.expectRefused(
            "GET /count HTTP/1.1\r\nHost: h\r\nX-A: " + String(repeating: "b", count: 100_000) + "\r\n\r\n",
            status: 431,
            message: "header fields too large")
    }

    @Test func malformedLengthsAndFramingAre400() throws {
        for length in ["-1", "abc", "1e3", ""] {
            try Self.expectRefused(
                "POST /count HTTP/1.1\r\nHost: h\r\nContent-Length: \(length)\r\n\r\n", status: 400,
                message: "invalid Content-Length")
        }
        try Self.expectRefused(
            "POST /count HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            status: 400, message: "Content-Length together with Transfer-Encoding")
        try Self.expectRefused("GET /count\r\n", status: 400, message: "malformed request line")
    }

    @Test func bodiesOverTheLimitAre413() throws {
        // Decided from Content-Length before the body is read: the client is still sending it.
        try Self.expectRefused(
            Array("POST /count HTTP/1.1\r\nHost: h\r\nContent-Length: 200000\r\n\r\n".utf8)
                + [UInt8](repeating: 0x41, count: 200_000), status: 413,
            message: "request body is larger than MAX_BODY_SIZE (1024 bytes)")
        try Self.expectRefused(
            Array("POST /nowhere HTTP/1.1\r\nHost: h\r\nContent-Length: 200000\r\n\r\n".utf8)
                + [UInt8](repeating: 0x41, count: 200_000), status: 413, message: "request body too large")
        let chunk = "200\r\n" + String(repeating: "b", count: 512) + "\r\n"
        try Self.expectRefused(
            "POST /count HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk + chunk,
            status: 413, message: "request body is larger than MAX_BODY_SIZE (1024 bytes)")
    }

    @Test func aRouteLimitGives413FromTheHeadBeforeAnyBodyIsSent() throws {
        for (path, length, message) in [
            ("/bulk", 4_097, "request body is larger than BULK_LIMIT (4096 bytes)"),
            ("/count", 1_025, "request body is larger than MAX_BODY_SIZE (1024 bytes)"),
        ] {
            try Self.withServer { port, seen in
                let client = try TestHTTPClient(port: port)
                // The head alone: the reply must come without a byte of the body.
                try client.send("POST \(path) HTTP/1.1\r\nHost: h\r\nContent-Length: \(length)\r\n\r\n")
                let response = try client.readResponse()
                #expect(response.status == 413)
                #expect(response.text == #"{"error":"\#(message)"}"#)
                #expect(response.header("Connection") == "close")
                #expect(client.readToClose() == [])
                #expect(seen.served.load(ordering: .relaxed) == 0)
            }
        }
        // Within the route's own limit, above the general one: served.
        try Self.withServer { port, seen in
            let client = try TestHTTPClient(port: port)
            let response = try client.request("POST", "/bulk", body: [UInt8](repeating: 0x61, count: 4_096))
            #expect(response.status == 200)
            #expect(response.text == "4096")
            #expect(seen.served.load(ordering: .relaxed) == 1)
        }
    }

    @Test func anHTTP09RequestIsRefusedAtItsFirstLine() throws {
        // Nothing else is sent: the 400 must not wait for a head that never comes.
        try Self.withServer { port, seen in
            let client = try TestHTTPClient(port: port)
            try client.send("GET /\r\n")
            let response = try client.readResponse()
            #expect(response.status == 400)
            #expect(response.text == #"{"error":"malformed request line"}"#)
            #expect(response.header("Connection") == "close")
            #expect(client.readToClose() == [])
            #expect(seen.served.load(ordering: .relaxed) == 0)
        }
    }

    @Test(arguments: [1_024, 100_000])
    func aLongChunkLineIs400WhetherItArrivesWholeOrInPieces(pieceSize: Int) throws {
        let request = Array(
            ("POST /count HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;x="
                + String(repeating: "e", count: 2_000) + "\r\na\r\n0\r\n\r\n").utf8)
        try Self.withServer { port, seen in
            let client = try TestHTTPClient(port: port)
            var offset = 0
            while offset < request.count {
                let end = min(request.count, offset + pieceSize)
                // A peer that has refused early may reset the rest: only the reply matters.
                guard (try? client.send(Array(request[offset..<end]))) != nil else { break }
                offset = end
                if offset < request.count { Thread.sleep(forTimeInterval: 0.05) }
            }
            let response = try client.readResponse()
            #expect(response.status == 400)
            #expect(response.text == #"{"error":"chunk line too long"}"#)
            #expect(seen.served.load(ordering: .relaxed) == 0)
        }
    }

    // MARK: What keeps working

    @Test func pipelinedRequestsAreAnsweredInOrderWithChunkedBodies() throws {
        try Self.withServer { port, seen in
            let client = try TestHTTPClient(port: port)
            try client.send(
                "POST /count HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\none"
                    + "POST /count HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\ntw\r\n1;x=y\r\no\r\n0\r\n\r\n"
                    + "HEAD /count HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nthree"
                    + "POST /count HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nConnection: close\r\n\r\nfour")
            #expect(try client.readResponse().text == "one")
            #expect(try client.readResponse().text == "two")
            // HEAD: the length a GET would get and no body, so the next reply follows directly.
            let rest = String(decoding: try #require(client.readToClose()), as: UTF8.self)
            #expect(rest.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(rest.contains("Content-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\n"))
            #expect(rest.hasSuffix("Connection: close\r\nContent-Length: 4\r\n\r\nfour"))
            #expect(seen.served.load(ordering: .relaxed) == 4)
        }
    }

    @Test func expectContinueGetsAnInterimReply() throws {
        try Self.withServer { port, _ in
            let client = try TestHTTPClient(port: port)
            try client.send("POST /count HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            #expect(try client.readResponse().status == 100)
            try client.send("ok")
            #expect(try client.readResponse().text == "ok")
        }
    }

    @Test func http10GetsItsReplyAndTheClose() throws {
        try Self.withServer { port, _ in
            let client = try TestHTTPClient(port: port)
            try client.send("GET /count HTTP/1.0\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("Connection") == "close")
            #expect(client.readToClose() == [])
        }
    }
}
