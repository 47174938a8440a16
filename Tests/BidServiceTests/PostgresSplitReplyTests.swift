import Foundation
import HTTPServer
import Postgres
import Synchronization
import Testing

@testable import BidService

#if canImport(Glibc)
    import Glibc
#endif

/// A statement's result can be complete (CommandComplete read) before the server's ReadyForQuery
/// arrives in a later read; the connection must keep it across readiness callbacks. A scripted
/// server on a real socket sends the two apart, which PostgreSQL itself does only by chance.
@Suite struct PostgresSplitReplyTests {
    @Test func aResultCompleteBeforeReadyForQueryIsKept() throws {
        let server = try ScriptedPostgresServer()
        let port = server.port
        let loop = try EventLoop.startStandalone(name: "split-reply")
        defer { loop.stopStandalone() }
        let outcome = Mutex<Result<PostgresResult, PostgresError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let keepAlive = SplitReplyObjects()
        loop.execute {
            let connection = PostgresConnection(
                configuration: .init(
                    connectionString: "host=127.0.0.1 port=\(port) user=u dbname=d sslmode=disable gssencmode=disable"),
                reactor: LoopReactor(loop: loop))
            keepAlive.connection = connection
            connection.start()
            connection.query("SELECT 'hello' AS x") { result in
                outcome.withLock { $0 = result }
                done.signal()
            }
        }
        #expect(done.wait(timeout: .now() + 10) == .success)
        let result = try #require(outcome.withLock { $0 })
        #expect((try? result.get())?.rows == [["hello"]], "\(result)")
        loop.execute {
            keepAlive.connection?.close()
            keepAlive.connection = nil
        }
        #expect(server.finished(), "the scripted server did not get through its script")
    }
}

private final class SplitReplyObjects: @unchecked Sendable {
    var connection: PostgresConnection?
}

/// Speaks just enough of the PostgreSQL protocol (v3, trust authentication, one extended-query
/// statement) to answer one query, pausing between CommandComplete and ReadyForQuery.
private final class ScriptedPostgresServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        guard bound == 0, listen(listener, 4) == 0 else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in serveOneClient() }
        thread.start()
    }

    deinit { close(listener) }

    func finished() -> Bool { done.wait(timeout: .now() + 5) == .success }

    private func serveOneClient() {
        let client = accept(listener, nil, nil)
        guard client >= 0 else { return }
        defer { close(client) }
        // StartupMessage: length, protocol 3.0, parameters.
        guard let startupLength = readInt32(client), readBytes(client, Int(startupLength) - 4) != nil else { return }
        send(client, message("R", int32(0)) + message("Z", [UInt8(ascii: "I")]))
        // Parse, Bind, Describe, Execute, then Sync.
        while true {
            guard let type = readBytes(client, 1)?.first, let length = readInt32(client),
                readBytes(client, Int(length) - 4) != nil
            else { return }
            if type == UInt8(ascii: "S") { break }
        }
        let rowDescription =
            int16(1) + Array("x".utf8) + [0] + int32(0) + int16(0) + int32(25) + int16(-1) + int32(-1) + int16(0)
        let dataRow = int16(1) + int32(5) + Array("hello".utf8)
        send(
            client,
            message("1", []) + message("2", []) + message("T", rowDescription) + message("D", dataRow)
                + message("C", Array("SELECT 1".utf8) + [0]))
        usleep(300_000)  // the client reads CommandComplete alone, then ReadyForQuery later
        send(client, message("Z", [UInt8(ascii: "I")]))
        // Terminate (or EOF) ends the conversation.
        _ = readBytes(client, 1)
        done.signal()
    }

    private func message(_ type: Character, _ body: [UInt8]) -> [UInt8] {
        [type.asciiValue!] + int32(Int32(body.count + 4)) + body
    }

    private func int32(_ value: Int32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
    private func int16(_ value: Int16) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    private func send(_ socket: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, 0) }
            guard written > 0 else { return }
            offset += written
        }
    }

    private func readInt32(_ socket: Int32) -> Int32? {
        guard let bytes = readBytes(socket, 4) else { return nil }
        return bytes.reduce(Int32(0)) { $0 << 8 | Int32($1) }
    }

    private func readBytes(_ socket: Int32, _ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let received = bytes[offset...].withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard received > 0 else { return nil }
            offset += received
        }
        return bytes
    }
}
