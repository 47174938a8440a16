import Testing

@testable import HTTPServer

/// The framing rules of `HTTPRequestParser` on byte strings, without a socket.
struct HTTPRequestParserTests {
    static let limits = HTTPRequestParser.Limits(
        maxRequestTargetLength: 64, maxHeadersSize: 256, maxHeaderCount: 8, maxBodySize: 32)

    /// Every event for `input` fed in one piece, and the same fed one byte at a time: the two
    /// must agree (framing never depends on how the bytes were split).
    static func events(_ input: String) -> [String] {
        let whole = run([Array(input.utf8)])
        let split = run(Array(input.utf8).map { [$0] })
        #expect(whole == split, "split input framed differently")
        return whole
    }

    static func run(_ pieces: [[UInt8]], parser: HTTPRequestParser = HTTPRequestParser(limits: limits)) -> [String] {
        var parser = parser
        var events: [String] = []
        for piece in pieces {
            parser.append(piece)
            while let event = parser.next() {
                switch event {
                case .continueExpected:
                    events.append("continue")
                case .request(let message):
                    let body = String(decoding: message.body, as: UTF8.self)
                    let keep = message.keepAlive ? "keep" : "close"
                    events.append("\(message.method.rawValue) \(message.path) ?\(message.query) [\(body)] \(keep)")
                case .failure(let failure):
                    events.append("\(failure.status) \(failure.message)")
                }
            }
        }
        return events
    }

    @Test func pipelinedRequestsComeOutInOrder() {
        #expect(
            Self.events(
                "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
                    + "\r\nGET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
                == ["GET /a ?x=1 [] keep", "POST /b ? [hello] keep", "GET /c ? [] close"])
    }

    @Test func chunkedBodiesWithExtensionsAndTrailers() {
        #expect(
            Self.events(
                "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n5;name=v\r\nhello\r\n"
                    + "6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nGET /n HTTP/1.1\r\nHost: h\r\n\r\n")
                == ["POST /c ? [hello world] keep", "GET /n ? [] keep"])
    }

    @Test func http10ClosesUnlessKeepAliveAndNeedsNoHost() {
        #expect(Self.events("GET / HTTP/1.0\r\n\r\n") == ["GET / ? [] close"])
        #expect(Self.events("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == ["GET / ? [] keep"])
    }

    @Test func absoluteFormAndLeadingEmptyLines() {
        #expect(Self.events("\r\nGET http://h:1/p?q HTTP/1.1\r\nHost: h\r\n\r\n") == ["GET /p ?q [] keep"])
        #expect(Self.events("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n") == ["OPTIONS * ? [] keep"])
    }

    /// RFC 9110 `tchar`: letters, digits and fifteen punctuation bytes, nothing else.
    @Test func tokenBytes() {
        let punctuation = Array("!#$%&'*+-.^_`|~".utf8)
        for byte in UInt8.min...UInt8.max {
            let alphanumeric =
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            #expect(HTTPRequestParser.isTokenByte(byte) == (alphanumeric || punctuation.contains(byte)), "\(byte)")
        }
    }

    @Test func requestTargets() {
        func target(_ method: String, _ target: String) -> String {
            Self.events("\(method) \(target) HTTP/1.1\r\nHost: h\r\n\r\n")[0]
        }
        #expect(target("GET", "/a/b?c=d?e") == "GET /a/b ?c=d?e [] keep")
        #expect(target("GET", "/?") == "GET / ? [] keep")
        #expect(target("GET", "/a#f") == "400 malformed request target")
        #expect(target("GET", "HTTPS://h/p?q") == "GET /p ?q [] keep")
        #expect(target("GET", "Http://h") == "GET / ? [] keep")
        #expect(target("GET", "http://h?q") == "GET / ?q [] keep")
        #expect(target("GET", "http:///p") == "400 malformed request target")
        #expect(target("GET", "ftp://h/p") == "400 malformed request target")
        #expect(target("GET", "p") == "400 malformed request target")
        #expect(target("GET", "*") == "400 malformed request target")
        #expect(target("OPTIONS", "*") == "OPTIONS * ? [] keep")
        #expect(target("OPTIONS", "*x") == "400 malformed request target")
    }

    @Test func expectContinueIsReportedBeforeTheBody() {
        var parser = HTTPRequestParser(limits: Self.limits)
        parser.append(Array("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8))
        guard case .continueExpected? = parser.next() else {
            Issue.record("no continue")
            return
        }
        #expect(parser.next() == nil)
        parser.append(Array("ok".utf8))
        guard case .request(let message)? = parser.next() else {
            Issue.record("no request")
            return
        }
        #expect(message.body == Array("ok".utf8))
    }

    @Test(
        arguments: [
            // Smuggling: two lengths, a list, a sign, junk, a length with chunked.
            (
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 53\r\n\r\n12345",
                "400 more than one Content-Length"
            ),
            (
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n12345",
                "400 more than one Content-Length"
            ),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n12345", "400 invalid Content-Length"),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", "400 invalid Content-Length"),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", "400 invalid Content-Length"),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n", "400 invalid Content-Length"),
            (
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                "400 Content-Length together with Transfer-Encoding"
            ),
            // Transfer codings other than exactly chunked.
            (
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\nGET / HTTP/1.1\r\n\r\n",
                "501 unsupported Transfer-Encoding"
            ),
            ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", "501 unsupported Transfer-Encoding"),
            (
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                "501 unsupported Transfer-Encoding"
            ),
            (
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                "501 unsupported Transfer-Encoding"
            ),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400 chunked framing on HTTP/1.0"),
            // Bytes a field value may not hold, and malformed lines.
            ("GET / HTTP/1.1\r\nHost: h\r\nIdempotency-Key: nul\0tail\r\n\r\n", "400 invalid header field"),
            ("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", "400 invalid header field"),
            ("GET / HTTP/1.1\r\nHost: h\nX: a\r\n\r\n", "400 line not ended by CRLF"),
            ("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n\r\n", "400 invalid header field"),
            ("GET / HTTP/1.1\r\nHost : h\r\n\r\n", "400 invalid header field"),
            ("GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n", "400 exactly one Host header is required"),
            ("GET / HTTP/1.1\r\n\r\n", "400 exactly one Host header is required"),
            // Request lines.
            ("GET /\r\n\r\n", "400 malformed request line"),
            ("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", "400 malformed request line"),
            ("GET / HTTP/2.0\r\nHost: h\r\n\r\n", "505 HTTP version not supported"),
            ("GET relative HTTP/1.1\r\nHost: h\r\n\r\n", "400 malformed request target"),
            ("CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", "501 method not implemented"),
            ("TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", "405 TRACE not allowed"),
            ("get / HTTP/1.1\r\nHost: h\r\n\r\n", "501 method not implemented"),
            // Limits.
            ("GET /" + String(repeating: "a", count: 200) + " HTTP/1.1\r\nHost: h\r\n\r\n", "414 URI too long"),
            ("GET /" + String(repeating: "a", count: 64) + " HTTP/1.1\r\nHost: h\r\n\r\n", "414 URI too long"),
            (
                "GET / HTTP/1.1\r\nHost: h\r\n" + String(repeating: "X: y\r\n", count: 9) + "\r\n",
                "431 too many header fields"
            ),
            (
                "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "y", count: 300) + "\r\n\r\n",
                "431 header fields too large"
            ),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 33\r\n\r\n", "413 request body too large"),
            (
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n11\r\n",
                "413 request body too large"
            ),
            ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n", "400 invalid chunk size"),
            (
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
                "400 chunk data not followed by CRLF"
            ),
            ("POST / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n", "417 unsupported Expect"),
            // A chunk line over 1,024 bytes, whether it arrives whole or in pieces.
            (
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;x="
                    + String(repeating: "e", count: 2_000) + "\r\na\r\n0\r\n\r\n",
                "400 chunk line too long"
            ),
            (
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: "
                    + String(repeating: "t", count: 300) + "\r\n\r\n",
                "431 trailer fields too large"
            ),
        ])
    func refusedWithTheRightStatusAndNothingAfter(input: String, expected: String) {
        // A valid request after the bad one must never come out.
        #expect(Self.events(input + "GET /after HTTP/1.1\r\nHost: h\r\n\r\n") == [expected])
    }

    @Test func aChunkLineOfExactlyTheLimitIsAccepted() {
        let extensions = ";x=" + String(repeating: "e", count: HTTPRequestParser.maxChunkLineLength - 4)
        #expect(("1" + extensions).utf8.count == HTTPRequestParser.maxChunkLineLength)
        #expect(
            Self.events(
                "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\(extensions)\r\na\r\n0\r\n\r\n")
                == ["POST /c ? [a] keep"])
        #expect(
            Self.events(
                "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\(extensions)e\r\na\r\n0\r\n\r\n")
                == ["400 chunk line too long"])
    }

    @Test func anHTTP09RequestLineIsRefusedAtItsEnd() {
        // Nothing follows such a line: waiting for the rest of a head would wait for the timeout.
        #expect(Self.events("GET /\r\n") == ["400 malformed request line"])
        #expect(Self.events("GET\r\n") == ["400 malformed request line"])
        #expect(Self.events("GET / HTTP/1.1\r\n") == [])
    }

    /// Routes with their own body limits: `/small` 16 bytes, `/large` 64; the general limit is 32.
    static func routeLimitEvents(_ input: String) -> [String] {
        var limits = Self.limits
        limits.smallestRouteBodyLimit = 16
        func parser() -> HTTPRequestParser {
            HTTPRequestParser(limits: limits) { message in
                switch message.path {
                case "/small": return RouteBodyLimit(bytes: 16, setting: "SMALL")
                case "/large": return RouteBodyLimit(bytes: 64, setting: "LARGE")
                default: return nil
                }
            }
        }
        let whole = run([Array(input.utf8)], parser: parser())
        let split = run(Array(input.utf8).map { [$0] }, parser: parser())
        #expect(whole == split, "split input framed differently")
        return whole
    }

    /// How many times the parser asked for a route's limit.
    final class LookupCount {
        var count = 0
    }

    @Test func aRouteBodyLimitIsAppliedFromTheHeadBeforeTheBody() {
        let body40 = String(repeating: "b", count: 40)
        #expect(
            Self.routeLimitEvents("POST /large HTTP/1.1\r\nHost: h\r\nContent-Length: 40\r\n\r\n\(body40)")
                == ["POST /large ? [\(body40)] keep"])
        // No body follows: the 413 comes from the head alone.
        #expect(
            Self.routeLimitEvents("POST /large HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n")
                == ["413 request body is larger than LARGE (64 bytes)"])
        #expect(
            Self.routeLimitEvents("POST /small HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n")
                == ["413 request body is larger than SMALL (16 bytes)"])
        #expect(
            Self.routeLimitEvents("POST /other HTTP/1.1\r\nHost: h\r\nContent-Length: 33\r\n\r\n")
                == ["413 request body too large"])
        #expect(
            Self.routeLimitEvents(
                "POST /small HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n1\r\n")
                == ["413 request body is larger than SMALL (16 bytes)"])
    }

    @Test func bodiesWithinEveryLimitNeedNoRouteLookup() {
        var limits = Self.limits
        limits.smallestRouteBodyLimit = 16
        let lookups = LookupCount()
        var parser = HTTPRequestParser(limits: limits) { _ in
            lookups.count += 1
            return nil
        }
        parser.append(Array("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 16\r\n\r\n0123456789abcdef".utf8))
        guard case .request? = parser.next() else {
            Issue.record("no request")
            return
        }
        #expect(lookups.count == 0)
        parser.append(Array("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n0123456789abcdefg".utf8))
        guard case .request? = parser.next() else {
            Issue.record("no request")
            return
        }
        #expect(lookups.count == 1)
    }

    @Test func theBufferOfALargeRequestIsReleasedAfterIt() {
        var limits = Self.limits
        limits.maxBodySize = 100_000
        var parser = HTTPRequestParser(limits: limits)
        parser.append(Array("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 50000\r\n\r\n".utf8))
        #expect(parser.next() == nil)
        parser.append([UInt8](repeating: 0x62, count: 50_000))
        #expect(parser.bufferCapacity >= 50_000)
        guard case .request(let message)? = parser.next() else {
            Issue.record("no request")
            return
        }
        #expect(message.body.count == 50_000)
        #expect(parser.bufferCapacity == 0)
        // A small request keeps its buffer for the next one.
        parser.append(Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        guard case .request? = parser.next() else {
            Issue.record("no request")
            return
        }
        #expect(parser.bufferCapacity > 0)
        #expect(parser.bufferCapacity <= HTTPRequestParser.retainedCapacity)
    }

    @Test func aFailureIsFinal() {
        var parser = HTTPRequestParser(limits: Self.limits)
        parser.append(Array("BAD\r\n\r\n".utf8))
        guard case .failure? = parser.next() else {
            Issue.record("no failure")
            return
        }
        parser.append(Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(parser.next() == nil)
    }
}
