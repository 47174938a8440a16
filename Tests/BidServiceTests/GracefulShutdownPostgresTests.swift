import BidCore
import Foundation
import HTTPTestSupport
import Postgres
import PostgresTestSupport
import ServiceTestSupport
import Synchronization
import Testing

/// SIGTERM to a real `bidengine serve` process under load: it stops accepting, answers what is
/// in flight, exits 0 within the deadline, and every acknowledged bid is in the table.
@Suite(.serialized) struct GracefulShutdownPostgresTests {
    /// `bidengine` sits next to the test bundle in the build directory.
    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("bidengine")
            .path
    }

    @Test func sigtermUnderLoadLosesNoAcknowledgedBid() throws {
        let url = try TestDatabase.fresh("shutdown_sigterm")
        let port = try LoopbackListener.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "serve", "--port", String(port), "--threads", "2", "--shutdown-timeout", "5",
            "--migrations-dir", ServiceHarness.migrationsDirectory,
        ]
        process.environment = ProcessInfo.processInfo.environment.merging(["DATABASE_URL": url, "LOG_LEVEL": "warning"])
        { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        try Self.waitUntilReady(port: port)

        let tally = LoadTally()
        let body = Array(#"{"product_id":77,"current_cpc":2,"target_roas":110}"#.utf8)
        // Real threads, not tasks: the clients block on sockets, and blocking the cooperative pool
        // would starve the code that sends the signal.
        let clients = DispatchGroup()
        for _ in 0..<16 {
            let thread = Thread {
                defer { clients.leave() }
                // Reconnect whenever the server closes; stop once it refuses connections, or after
                // the first failed request once the signal is sent (each loop closes its own
                // listener, so a reconnect can still reach a loop that is about to close).
                while !tally.stop.load(ordering: .relaxed) {
                    guard let client = try? TestHTTPClient(port: port) else { return }
                    while !tally.stop.load(ordering: .relaxed) {
                        do {
                            let response = try client.request(
                                "POST", "/api/bid", headers: [("Content-Type", "application/json")], body: body)
                            if response.status == 200, case .number(let id)? = response.json?["bid_id"] {
                                tally.acknowledged.withLock { $0.append(id) }
                            }
                            if response.header("Connection")?.lowercased() == "close" { break }
                        } catch {
                            tally.unanswered.withLock { $0 += 1 }
                            if tally.signalled.load(ordering: .relaxed) { return }
                            break
                        }
                    }
                }
            }
            clients.enter()
            thread.start()
        }
        Thread.sleep(forTimeInterval: 0.8)
        let signalled = ContinuousClock.now
        tally.signalled.store(true, ordering: .relaxed)
        kill(process.processIdentifier, SIGTERM)
        while process.isRunning, signalled.duration(to: .now) < .seconds(8) { Thread.sleep(forTimeInterval: 0.02) }
        tally.stop.store(true, ordering: .relaxed)
        _ = clients.wait(timeout: .now() + 10)

        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
        #expect(signalled.duration(to: .now) < .seconds(7))
        let ids = tally.acknowledged.withLock { $0 }
        #expect(ids.count > 100)
        let session = try PostgresSession(connectionString: url)
        let stored = Set(try session.execute("SELECT id::text FROM bids").rows.compactMap { $0[0] })
        #expect(Set(ids).isSubset(of: stored))
        // A request on a keep-alive connection can race the server closing it while idle (EOF
        // before the request is read, as HTTP/1.1 allows): at most once per client, since a
        // client stops after its first failure once the signal is sent. Nothing failed before it.
        #expect(tally.unanswered.withLock { $0 } <= 16)
    }

    static func waitUntilReady(port: Int) throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let client = try? TestHTTPClient(port: port), (try? client.request("GET", "/readyz"))?.status == 200 {
                return
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TestFailure("server on port \(port) never became ready")
    }
}

/// What the load clients saw, shared across their tasks.
final class LoadTally: Sendable {
    let acknowledged = Mutex<[String]>([])
    let unanswered = Mutex(0)
    let stop = Atomic<Bool>(false)
    let signalled = Atomic<Bool>(false)
}
