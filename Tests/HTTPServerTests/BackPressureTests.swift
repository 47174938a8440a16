import Foundation
import HTTPServer
import HTTPTestSupport
import Synchronization
import Testing

/// Clients that send requests and do not read the replies, over real sockets: the server stops
/// reading once `maxQueuedOutput` waits for such a client, holds no more than that plus one reply,
/// and closes the connection when the client has not taken its replies within `requestTimeout`,
/// however it trickles reads or keeps sending. Other clients on the same loop are answered
/// meanwhile.
@Suite(.serialized)
struct BackPressureTests {
    static let requestTimeout = Duration.seconds(2)
    /// How late a closure may be on a loaded two-core machine and still count as "by the deadline".
    static let slack = Duration.seconds(4)
    /// libevent's cached loop time can make a deadline fire this much early.
    static let earlyTolerance = Duration.milliseconds(250)
    static let replySize = 1_024
    static let request = Array("GET /reply HTTP/1.1\r\nHost: h\r\n\r\n".utf8)

    final class Served: Sendable {
        let count = Atomic<Int>(0)
    }

    static func withServer(_ body: (HTTPServer, Served) throws -> Void) throws {
        let served = Served()
        let configuration = TestServer.configuration { configuration in
            configuration.requestTimeout = Self.requestTimeout
        }
        try TestServer.with(
            configuration,
            routes: { _ in
                var router = Router()
                router.add(.GET, "/reply") { _, responder in
                    served.count.add(1, ordering: .relaxed)
                    responder.respond(
                        status: 200, headers: [("Content-Type", "text/plain")],
                        body: [UInt8](repeating: 0x72, count: Self.replySize))
                }
                return router
            }
        ) { server in try body(server, served) }
    }

    /// Requests sent over and over without blocking, resuming where a partial send stopped so
    /// that no request is cut in two.
    struct Pipeline {
        let bytes = Array([[UInt8]](repeating: BackPressureTests.request, count: 200).joined())
        var offset = 0
        var accepted = 0

        /// Sends what the connection takes now: the count, or nil once the server has closed it.
        mutating func send(on client: TestHTTPClient) -> Int? {
            guard let sent = client.sendWithoutBlocking(Array(bytes[offset...])) else { return nil }
            offset = (offset + sent) % bytes.count
            accepted += sent
            return sent
        }

        /// Sends until the connection has taken nothing for `stall` or `until` holds.
        mutating func send(on client: TestHTTPClient, stall: Duration, until done: () -> Bool = { false }) {
            var progress = ContinuousClock.now
            while !done(), ContinuousClock.now - progress < stall {
                guard let sent = send(on: client) else { return }
                if sent > 0 { progress = .now } else { Thread.sleep(forTimeInterval: 0.001) }
            }
        }
    }

    @Test func aClientThatNeverReadsIsPausedThenClosedByTheWriteDeadline() throws {
        try Self.withServer { server, served in
            let started = ContinuousClock.now
            let client = try TestHTTPClient(port: server.boundPort)
            var pipeline = Pipeline()
            // Sends until the server pauses the connection, however slow a loaded machine makes
            // it, then until the connection takes nothing more: the server has stopped reading.
            pipeline.send(on: client, stall: .seconds(30)) { server.outputPauses > 0 }
            pipeline.send(on: client, stall: .milliseconds(500))
            let accepted = pipeline.accepted
            #expect(accepted > 0)
            let pauses = server.outputPauses
            #expect(pauses >= 1)
            let pausedAt = ContinuousClock.now
            let paused = served.count.load(ordering: .relaxed)
            // Reading stays paused: nothing more is served while the client does not read.
            Thread.sleep(forTimeInterval: 0.5)
            #expect(served.count.load(ordering: .relaxed) == paused)
            #expect(server.outputPauses == pauses)
            #expect(paused < accepted / Self.request.count, "every request sent was served")
            // What waits in the server for the client: at most the mark and the reply that passed it.
            let configuration = HTTPServerConfiguration()
            #expect(server.largestQueuedOutput > configuration.maxQueuedOutput)
            #expect(server.largestQueuedOutput <= configuration.maxQueuedOutput + Self.replySize + 256)
            // Another client on the same loop is answered meanwhile.
            let other = try TestHTTPClient(port: server.boundPort)
            let response = try other.request("GET", "/reply")
            #expect(response.status == 200)
            #expect(response.body.count == Self.replySize)
            other.close()

            // The write deadline, from when the first reply had to wait, closes it.
            let deadline = pausedAt + Self.requestTimeout + Self.slack
            while server.writeTimeouts == 0, ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
            let closedAfter = ContinuousClock.now - started
            #expect(server.writeTimeouts == 1)
            #expect(closedAfter >= Self.requestTimeout - Self.earlyTolerance)
            #expect(waitUntil { server.openConnections == 0 })
            #expect(server.requestTimeouts == 0)
            #expect(served.count.load(ordering: .relaxed) == paused + 1)
            #expect(server.outputPauses == pauses)
        }
    }

    @Test func aClientReadingATrickleWhileSendingIsClosedByTheWriteDeadline() throws {
        try Self.withServer { server, _ in
            let started = ContinuousClock.now
            let client = try TestHTTPClient(port: server.boundPort)
            var pipeline = Pipeline()
            var received = 0
            var closedAfter: Duration?
            // 200 bytes every 100 ms (2 KB/s) read, and requests sent all the while. The deadline
            // starts once the kernel's buffers are full and replies wait in the server, which
            // takes a few seconds on a loaded machine, hence the long wait.
            let giveUp = Duration.seconds(30)
            while closedAfter == nil, ContinuousClock.now - started < giveUp {
                guard pipeline.send(on: client) != nil, let read = client.discardAvailable(upTo: 200)
                else {
                    closedAfter = ContinuousClock.now - started
                    break
                }
                received += read
                Thread.sleep(forTimeInterval: 0.1)
            }
            #expect(received > 0)
            let lifetime = try #require(closedAfter, "still open after \(giveUp)")
            #expect(lifetime >= Self.requestTimeout - Self.earlyTolerance)
            #expect(server.writeTimeouts == 1)
            #expect(server.requestTimeouts == 0)
            #expect(waitUntil { server.openConnections == 0 })
        }
    }

    @Test func aPipeliningClientThatReadsIsServedInFullAcrossPauses() throws {
        try Self.withServer { server, served in
            let client = try TestHTTPClient(port: server.boundPort)
            let count = 2_000
            // 2 MB of replies: more than `maxQueuedOutput` many times over, read as they come.
            try client.send(Array([[UInt8]](repeating: Self.request, count: count).joined()))
            for index in 0..<count {
                let response = try client.readResponse()
                #expect(response.status == 200, "reply \(index)")
                #expect(response.body.count == Self.replySize)
            }
            #expect(served.count.load(ordering: .relaxed) == count)
            #expect(server.writeTimeouts == 0)
        }
    }
}
