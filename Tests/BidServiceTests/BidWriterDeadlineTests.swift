import BidCore
import Foundation
import HTTPServer
import Postgres
import ServiceTestSupport
import Synchronization
import Testing

@testable import BidService
@testable import JSONRoutes

#if canImport(Glibc)
    import Glibc
#endif

/// Every bid is answered within the statement timeout of its own arrival, also when it had to wait
/// in the writer behind a batch that was stuck (here: a database that accepts TCP connections and
/// never answers, like a frozen PostgreSQL).
@Suite struct BidWriterDeadlineTests {
    @Test func aBidWaitingBehindAStuckBatchKeepsItsOwnDeadline() throws {
        // Completes handshakes (the kernel's backlog) and never reads or writes.
        let silentServer = try LoopbackListener()
        let port = silentServer.port
        let loop = try EventLoop.startStandalone(name: "writer-deadline")
        defer { loop.stopStandalone() }
        let answered = Mutex<[String: (elapsed: Duration, outcome: Result<BidWriter.Recorded, BidWriter.WriteError>)]>(
            [:])
        let done = DispatchSemaphore(value: 0)
        let keepAlive = LoopObjects()

        loop.execute {
            var configuration = PostgresConnection.Configuration(
                connectionString: "host=127.0.0.1 port=\(port) user=nobody dbname=nothing")
            configuration.statementTimeout = .seconds(2)
            configuration.connectTimeout = .seconds(30)  // the connection stays "connecting" for the whole test
            let connection = PostgresConnection(configuration: configuration, reactor: LoopReactor(loop: loop))
            connection.start()
            let writer = BidWriter(connection: connection)
            keepAlive.objects = [connection, writer]  // as the server's router keeps them
            func submit(_ name: String, productID: Int) {
                let submitted = ContinuousClock.now
                writer.submit(Self.bid(productID: productID)) { outcome, _ in
                    answered.withLock { $0[name] = (submitted.duration(to: .now), outcome) }
                    done.signal()
                }
            }
            submit("first", productID: 1)
            // Arrives while the first batch is queued on the connection, so it waits in the writer.
            _ = loop.schedule(after: .milliseconds(200)) { submit("second", productID: 2) }
        }

        for _ in 0..<2 { #expect(done.wait(timeout: .now() + 10) == .success) }
        withExtendedLifetime(silentServer) {}
        loop.execute { keepAlive.objects = [] }
        let results = answered.withLock { $0 }
        for name in ["first", "second"] {
            let result = try #require(results[name])
            guard case .failure(.databaseUnavailable) = result.outcome else {
                Issue.record("\(name): expected databaseUnavailable, got \(result.outcome)")
                continue
            }
            // The deadline is 2 s from arrival; before the fix the second bid got a fresh 2 s when
            // the first batch expired, 3.8 s after its arrival. The upper bound leaves room for a
            // loaded machine's late timers.
            #expect(result.elapsed >= .milliseconds(1_900), "\(name) answered after \(result.elapsed)")
            #expect(result.elapsed < .milliseconds(2_900), "\(name) answered after \(result.elapsed)")
        }
    }

    private static func bid(productID: Int) -> PricedBid {
        guard
            case .success(let bid) = PricedBid.parse(
                body: Array(#"{"product_id":\#(productID),"current_cpc":"1.50","target_roas":"150"}"#.utf8))
        else { fatalError("test bid must be valid") }
        return bid
    }
}
