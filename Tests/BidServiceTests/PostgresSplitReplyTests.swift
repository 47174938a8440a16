import Foundation
import HTTPServer
import Postgres
import ServiceTestSupport
import Synchronization
import Testing

@testable import JSONRoutes

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
        let keepAlive = LoopObjects()
        loop.execute {
            let connection = PostgresConnection(
                configuration: .init(
                    connectionString: "host=127.0.0.1 port=\(port) user=u dbname=d sslmode=disable gssencmode=disable"),
                reactor: LoopReactor(loop: loop))
            keepAlive.objects = [connection]
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
            for case let connection as PostgresConnection in keepAlive.objects { connection.close() }
            keepAlive.objects = []
        }
        #expect(server.finished(), "the scripted server did not get through its script")
    }
}

/// Speaks just enough of the PostgreSQL protocol (v3, trust authentication, one extended-query
/// statement) to answer one query, pausing between CommandComplete and ReadyForQuery.
private final class ScriptedPostgresServer: @unchecked Sendable {
    private let listener: LoopbackListener
    private let done = DispatchSemaphore(value: 0)

    var port: Int { listener.port }

    init() throws {
        listener = try LoopbackListener(backlog: 4)
        let thread = Thread { [self] in serveOneClient() }
        thread.start()
    }

    func finished() -> Bool { done.wait(timeout: .now() + 5) == .success }

    private func serveOneClient() {
        let client = listener.accept()
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
