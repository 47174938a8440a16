import Foundation
import HTTPServer
import JSONRoutes
import Postgres
import PostgresTestSupport
import ServiceTestSupport
import Synchronization
import Testing

@testable import BidService

/// `PostgresReadRouter` on a real event loop against real PostgreSQL: which server answers is told
/// by `application_name`, set differently on the two connections. (The hot-standby behaviour —
/// lag, paused replay — is checked against a real standby by scripts/integration/scaleout.)
@Suite struct ReadRouterPostgresTests {
    /// Runs `body` on a fresh loop with a router over `primary` and `replica` and returns what it reports.
    private func withRouter(
        primary: String, replica: String,
        _ body: @escaping @Sendable (EventLoop, PostgresReadRouter, @escaping @Sendable (String) -> Void) -> Void
    ) throws -> (answer: String?, events: [String]) {
        let loop = try EventLoop.startStandalone(name: "read-router")
        defer { loop.stopStandalone() }
        let keepAlive = LoopObjects()
        let answer = Mutex<String?>(nil)
        let events = Mutex<[String]>([])
        let done = DispatchSemaphore(value: 0)
        loop.execute {
            let reactor = LoopReactor(loop: loop)
            let primaryConnection = PostgresConnection(
                configuration: .init(connectionString: primary), reactor: reactor)
            var replicaConfiguration = PostgresConnection.Configuration(connectionString: replica)
            replicaConfiguration.connectTimeout = .milliseconds(500)
            let replicaConnection = PostgresConnection(configuration: replicaConfiguration, reactor: reactor)
            let router = PostgresReadRouter(
                primary: primaryConnection, replica: replicaConnection, reactor: reactor, maxLag: .seconds(5),
                lagCheckInterval: .milliseconds(100)
            ) { event in
                switch event {
                case .fellBack(let reason): events.withLock { $0.append("fell back: \(reason.rawValue)") }
                case .replicaUsable(let usable, _): events.withLock { $0.append("usable: \(usable)") }
                case .lagMeasured, .readFailed: break
                }
            }
            keepAlive.objects = [primaryConnection, router]
            primaryConnection.start()
            router.start()
            body(loop, router) { text in
                answer.withLock { $0 = text }
                done.signal()
            }
        }
        #expect(done.wait(timeout: .now() + 15) == .success)
        loop.execute {
            for object in keepAlive.objects {
                (object as? PostgresReadRouter)?.close()
                (object as? PostgresConnection)?.close()
            }
            keepAlive.objects = []
        }
        return (answer.withLock { $0 }, events.withLock { $0 })
    }

    private static let whoAnswers = "SELECT current_setting('application_name')"

    @Test func readsGoToAReplicaThatKeepsUp() throws {
        let database = try TestDatabase.fresh("bidengine_read_router")
        // A server that is not in recovery has lag 0 by definition: it is a valid (if pointless) replica.
        let result = try withRouter(
            primary: database + " application_name=primary-side", replica: database + " application_name=replica-side"
        ) { loop, router, finish in
            func poll() {
                guard case .replica = router.currentTarget else {
                    _ = loop.schedule(after: .milliseconds(50)) { poll() }
                    return
                }
                router.query(Self.whoAnswers, [], deadline: nil) { finish((try? $0.get())?.scalar ?? "error: \($0)") }
            }
            poll()
        }
        #expect(result.answer == "replica-side")
        #expect(result.events == ["usable: true"])
    }

    @Test func readsFallBackToThePrimaryWhenTheReplicaIsDown() throws {
        let database = try TestDatabase.fresh("bidengine_read_router_down")
        // A port with no listener: the replica connection fails at once and keeps retrying.
        let port = try LoopbackListener(backlog: 1).port  // closed again at once
        let result = try withRouter(
            primary: database + " application_name=primary-side",
            replica: "host=127.0.0.1 port=\(port) user=postgres dbname=x sslmode=disable gssencmode=disable"
        ) { loop, router, finish in
            _ = loop.schedule(after: .milliseconds(300)) {
                router.query(Self.whoAnswers, [], deadline: nil) { finish((try? $0.get())?.scalar ?? "error: \($0)") }
            }
        }
        #expect(result.answer == "primary-side")
        #expect(result.events == ["fell back: replica_down"])
    }
}
