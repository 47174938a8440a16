import Testing

@testable import Telemetry

/// Where a collector's answer ends, and whether its connection can carry the next export.
struct CollectorResponseParserTests {
    static func parse(_ pieces: [String], closedAfter: Bool = false) -> CollectorResponseParser.Outcome {
        var parser = CollectorResponseParser()
        var outcome = CollectorResponseParser.Outcome.needMore
        for piece in pieces {
            outcome = parser.received(Array(piece.utf8))
            if outcome != .needMore { return outcome }
        }
        return closedAfter ? parser.closed() : outcome
    }

    @Test func aContentLengthBodyEndsTheAnswerEvenWhenItArrivesInPieces() {
        #expect(
            Self.parse(["HTTP/1.1 200 OK\r\nContent-", "Length: 5\r\n\r", "\nab", "cde"])
                == .complete(status: 200, keepAlive: true))
        #expect(Self.parse(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabcd"]) == .needMore)
    }

    @Test func aChunkedBodyEndsAtItsLastChunkAndTrailers() {
        #expect(
            Self.parse(["HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n", "3;x=y\r\nabc\r\n", "0\r\n\r\n"])
                == .complete(status: 202, keepAlive: true))
        #expect(
            Self.parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"])
                == .complete(status: 200, keepAlive: true))
        #expect(Self.parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"]) == .malformed)
    }

    @Test func connectionCloseAndHTTP10EndTheConnection() {
        #expect(
            Self.parse(["HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"])
                == .complete(status: 200, keepAlive: false))
        #expect(
            Self.parse(["HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"]) == .complete(status: 200, keepAlive: false))
        #expect(
            Self.parse(["HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"])
                == .complete(status: 200, keepAlive: true))
    }

    @Test func aBodyWithoutLengthEndsWhenTheCollectorCloses() {
        #expect(Self.parse(["HTTP/1.1 200 OK\r\n\r\nsome body"]) == .needMore)
        #expect(
            Self.parse(["HTTP/1.1 200 OK\r\n\r\nsome body"], closedAfter: true)
                == .complete(status: 200, keepAlive: false))
    }

    @Test func interimAnswersAreSkippedAndEmptyStatusesHaveNoBody() {
        #expect(
            Self.parse(["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}"])
                == .complete(status: 400, keepAlive: true))
        #expect(Self.parse(["HTTP/1.1 204 No Content\r\n\r\n"]) == .complete(status: 204, keepAlive: true))
    }

    @Test func somethingElseIsMalformed() {
        #expect(Self.parse(["SSH-2.0-OpenSSH_9.2\r\n\r\n"]) == .malformed)
        #expect(Self.parse(["HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"]) == .malformed)
        #expect(Self.parse(["HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"], closedAfter: true) == .malformed)
        #expect(Self.parse([String(repeating: "x", count: CollectorResponseParser.maxHeadBytes + 1)]) == .malformed)
    }
}
