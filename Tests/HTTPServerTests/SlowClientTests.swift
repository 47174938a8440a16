import Dispatch
import Foundation
import HTTPServer
import HTTPTestSupport
import Synchronization
import Testing

/// Slow and silent clients (slowloris, stalled bodies, connect-and-say-nothing) against a live
/// server: the timeouts must close them, none may be served, and normal clients keep being
/// answered meanwhile. Latency is printed, not asserted: speed is measured in the Benchmarks
/// target (`slowloris` section), never asserted in tests.
@Suite(.serialized)
struct SlowClientTests {
    /// Short enough to keep the suite quick, long enough that a trickle of one byte per 100 ms
    /// sends several bytes before it is cut off.
    static let requestTimeout = Duration.seconds(1)
    /// How late a closure may be on a loaded two-core machine and still count as "by the timeout".
    static let slack = Duration.seconds(4)
    /// libevent computes timer expiry from the time cached at the start of a loop iteration, so a
    /// deadline armed late in a busy iteration fires early by that much; still far from any other
    /// timeout in play, so an early closure cannot be mistaken for the right one.
    static let earlyTolerance = Duration.milliseconds(250)

    @Test func slowlorisAndStalledBodiesAreCutOffWhileNormalClientsAreServed() throws {
        let configuration = TestServer.configuration(threads: 2) { configuration in
            configuration.requestTimeout = Self.requestTimeout
            configuration.idleTimeout = .seconds(60)
        }
        try TestServer.with(configuration, routes: Self.routes) { server in
            let normal = NormalClients(port: server.boundPort, count: 4)
            normal.start()
            defer { normal.stop() }
            let behaviours =
                Array(repeating: SlowClientSwarm.Behaviour.trickledHeaders, count: 300)
                + Array(repeating: .stalledBody(trickle: true), count: 50)
                + Array(repeating: .stalledBody(trickle: false), count: 50)
            let swarm = try SlowClientSwarm(port: server.boundPort, behaviours: behaviours)
            let outcomes = swarm.run(giveUpAfter: Self.requestTimeout + Self.slack + .seconds(1))
            let latencies = normal.stop()

            Self.expectAllCutOff(outcomes, after: Self.requestTimeout)
            #expect(outcomes.filter { $0.behaviour == .trickledHeaders }.allSatisfy { $0.bytesSent >= 3 })
            #expect(normal.failures.isEmpty, "\(normal.failures.prefix(5))")
            #expect(!latencies.isEmpty)
            #expect(server.requestTimeouts == behaviours.count)
            // The normal clients' closes still have to reach the loops; with the PostgreSQL suites
            // running beside this one that took over 2 s. A connection left open would stay for the
            // 60-s idle timeout, so 10 s still tells a leak from a slow machine.
            let deadline = ContinuousClock.now + .seconds(10)
            while server.openConnections > 0, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
            #expect(server.openConnections == 0, "\(server.openConnections) connections still open")
            Self.report("slowloris (300 header tricklers, 100 stalled bodies)", latencies, outcomes)
        }
    }

    @Test func silentConnectionsAreClosedByTheFirstByteTimeout() throws {
        let firstByteTimeout = Duration.milliseconds(1_500)
        let configuration = TestServer.configuration(threads: 2) { configuration in
            configuration.firstByteTimeout = firstByteTimeout
            configuration.requestTimeout = Self.requestTimeout
            configuration.idleTimeout = .seconds(60)
        }
        try TestServer.with(configuration, routes: Self.routes) { server in
            let normal = NormalClients(port: server.boundPort, count: 2)
            normal.start()
            defer { normal.stop() }
            let swarm = try SlowClientSwarm(
                port: server.boundPort, behaviours: Array(repeating: .silent, count: 200))
            let outcomes = swarm.run(giveUpAfter: firstByteTimeout + Self.slack + .seconds(1))
            let latencies = normal.stop()

            // Longer than the request timeout: it is the first-byte deadline that closed them.
            Self.expectAllCutOff(outcomes, after: firstByteTimeout)
            #expect(normal.failures.isEmpty, "\(normal.failures.prefix(5))")
            #expect(server.firstByteTimeouts == outcomes.count)
            #expect(server.requestTimeouts == 0)
            #expect(waitUntil { server.openConnections == 0 })
            Self.report("silent connections (200)", latencies, outcomes)
        }
    }

    @Test func aKeepAliveConnectionGetsTheIdleTimeoutNotTheFirstByteTimeout() throws {
        let configuration = TestServer.configuration { configuration in
            configuration.firstByteTimeout = .milliseconds(300)
            configuration.idleTimeout = .milliseconds(1_200)
        }
        try TestServer.with(configuration, routes: Self.routes) { server in
            let client = try TestHTTPClient(port: server.boundPort)
            #expect(try client.request("GET", "/ping").text == "pong")
            let started = ContinuousClock.now
            #expect(client.waitForClose())
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(1_100))
            #expect(elapsed < .milliseconds(1_200) + Self.slack)
            #expect(server.firstByteTimeouts == 0)
        }
    }

    // MARK: Helpers

    @Sendable static func routes(_ loop: EventLoop) -> Router {
        var router = Router()
        router.add(.GET, "/ping") { _, responder in
            responder.respond(status: 200, headers: [("Content-Type", "text/plain")], body: Array("pong".utf8))
        }
        for method in [HTTPMethod.GET, .POST] {
            router.add(method, "/slow") { _, responder in responder.respond(status: 200, body: Array("served".utf8)) }
        }
        return router
    }

    /// Every connection was closed by the server no earlier than `timeout` and no later than
    /// `timeout + slack`, and got not one byte back.
    static func expectAllCutOff(_ outcomes: [SlowClientSwarm.Outcome], after timeout: Duration) {
        let open = outcomes.filter { $0.closedAfter == nil }
        #expect(open.count == 0, "\(open.count) of \(outcomes.count) connections still open after \(timeout + slack)")
        let early = outcomes.compactMap(\.closedAfter).filter { $0 < timeout - earlyTolerance }
        #expect(early.count == 0, "closed before the timeout: \(early.prefix(5))")
        let late = outcomes.compactMap(\.closedAfter).filter { $0 > timeout + slack }
        #expect(late.count == 0, "closed later than timeout + slack: \(late.prefix(5))")
        let served = outcomes.filter { $0.bytesReceived > 0 }
        #expect(served.count == 0, "\(served.count) slow connections received bytes")
    }

    /// Printed, not asserted.
    static func report(_ title: String, _ latencies: [Duration], _ outcomes: [SlowClientSwarm.Outcome]) {
        let sorted = latencies.sorted()
        let lifetimes = outcomes.compactMap(\.closedAfter).sorted()
        func percentile(_ values: [Duration], _ p: Double) -> String {
            guard !values.isEmpty else { return "-" }
            let value = values[min(values.count - 1, max(0, Int((Double(values.count) * p / 100).rounded(.up)) - 1))]
            return String(format: "%.3f ms", value / .milliseconds(1))
        }
        print(
            "\(title): normal requests \(sorted.count), p50 \(percentile(sorted, 50)), p99 \(percentile(sorted, 99)), max \(percentile(sorted, 100)); slow connections closed after min \(percentile(lifetimes, 0)), p50 \(percentile(lifetimes, 50)), max \(percentile(lifetimes, 100))"
        )
    }
}

/// Keep-alive clients asking `GET /ping` in a closed loop on their own threads, each request's
/// latency recorded; any answer other than exactly `200 pong` is a failure.
private final class NormalClients: Sendable {
    private let port: Int
    private let count: Int
    private let stopping = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let started = Atomic<Int>(0)
    private let recorded = Mutex<[Duration]>([])
    private let problems = Mutex<[String]>([])
    private let stopped = Mutex<[Duration]?>(nil)

    init(port: Int, count: Int) {
        self.port = port
        self.count = count
    }

    var failures: [String] { problems.withLock { $0 } }

    func start() {
        for _ in 0..<count {
            Thread { [self] in
                defer { done.signal() }
                var latencies: [Duration] = []
                latencies.reserveCapacity(100_000)
                defer { recorded.withLock { $0 += latencies } }
                do {
                    let client = try TestHTTPClient(port: port)
                    started.add(1, ordering: .relaxed)
                    while !stopping.load(ordering: .relaxed) {
                        let begin = ContinuousClock.now
                        let response = try client.request("GET", "/ping")
                        latencies.append(ContinuousClock.now - begin)
                        if response.status != 200 || response.text != "pong" {
                            problems.withLock { $0.append("\(response.status) \(response.text)") }
                        }
                    }
                } catch {
                    problems.withLock { $0.append("\(error)") }
                }
            }.start()
        }
        // Connected and answered before the attack starts.
        while started.load(ordering: .relaxed) < count, problems.withLock({ $0.isEmpty }) { usleep(1_000) }
    }

    /// Stops the clients (once) and returns every latency they recorded.
    @discardableResult
    func stop() -> [Duration] {
        if let latencies = stopped.withLock({ $0 }) { return latencies }
        stopping.store(true, ordering: .relaxed)
        for _ in 0..<count { done.wait() }
        let latencies = recorded.withLock { $0 }
        stopped.withLock { $0 = latencies }
        return latencies
    }
}
