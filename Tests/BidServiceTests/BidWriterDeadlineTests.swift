import BidCore
import Foundation
import HTTPServer
import Postgres
import Synchronization
import Testing

@testable import BidService

#if canImport(Glibc)
    import Glibc
#endif

/// Every bid is answered within the statement timeout of its own arrival, also when it had to wait
/// in the writer behind a batch that was stuck (here: a database that accepts TCP connections and
/// never answers, like a frozen PostgreSQL).
@Suite struct BidWriterDeadlineTests {
    @Test func aBidWaitingBehindAStuckBatchKeepsItsOwnDeadline() throws {
        let silentServer = try SilentListener()
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
            let writer = BidWriter(connection: connection, reactor: LoopReactor(loop: loop))
            keepAlive.objects = [connection, writer]  // as the server's router keeps them
            func submit(_ name: String, productID: Int) {
                let submitted = ContinuousClock.now
                writer.submit(Self.bid(productID: productID)) { outcome in
                    answered.withLock { $0[name] = (submitted.duration(to: .now), outcome) }
                    done.signal()
                }
            }
            submit("first", productID: 1)
            // Arrives while the first batch is queued on the connection, so it waits in the writer.
            _ = loop.schedule(after: .seconds(1)) { submit("second", productID: 2) }
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
            // the first batch expired, 3 s after its arrival.
            #expect(result.elapsed >= .milliseconds(1_900), "\(name) answered after \(result.elapsed)")
            #expect(result.elapsed < .milliseconds(2_600), "\(name) answered after \(result.elapsed)")
        }
    }

    private static func bid(productID: Int) -> BidRequest {
        guard
            case .success(let bid) = BidRequest.parse(
                body: Array(#"{"product_id":\#(productID),"current_cpc":"1.50","target_roas":"150"}"#.utf8))
        else { fatalError("test bid must be valid") }
        return bid
    }
}

/// Objects created on the loop that must outlive the closure that made them.
private final class LoopObjects: @unchecked Sendable {
    var objects: [AnyObject] = []
}

/// A TCP port that completes handshakes (the kernel's backlog) and never reads or writes.
private final class SilentListener {
    let port: Int
    private let socket: Int32

    init() throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) }
        }
        guard bound == 0, listen(socket, 16) == 0 else {
            close(socket)
            throw POSIXError(.EADDRINUSE)
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        self.socket = socket
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(socket) }
}
