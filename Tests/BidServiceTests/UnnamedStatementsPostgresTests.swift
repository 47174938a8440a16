import Foundation
import HTTPServer
import JSONRoutes
import Postgres
import PostgresTestSupport
import ServiceTestSupport
import Synchronization
import Testing

/// What a connection leaves prepared on its server connection, with and without named statements
/// (behind a transaction pooler, a name prepared on one server connection may be executed on
/// another, or collide with another client's): against real PostgreSQL.
@Suite(.serialized) struct UnnamedStatementsPostgresTests {
    /// Sends the same statement three times `preparedAs` one name, then reads what the server
    /// connection has prepared; returns the three answers and the prepared names.
    private func preparedAfterThreeRuns(named: Bool, database: String) throws -> (
        answers: [String?], prepared: [String?]
    ) {
        let url = try TestDatabase.fresh(database)
        let loop = try EventLoop.startStandalone(name: database)
        defer { loop.stopStandalone() }
        let done = DispatchSemaphore(value: 0)
        let answers = Mutex<[String?]>([])
        let prepared = Mutex<[String?]>([])
        let keepAlive = LoopObjects()
        loop.execute {
            var configuration = PostgresConnection.Configuration(connectionString: url)
            configuration.namedStatements = named
            let connection = PostgresConnection(configuration: configuration, reactor: LoopReactor(loop: loop))
            keepAlive.objects = [connection]
            connection.start()
            for value in 1...3 {
                connection.query("SELECT $1::int * 10", [String(value)], preparedAs: "times_ten") { result in
                    answers.withLock { $0.append((try? result.get())?.scalar) }
                    done.signal()
                }
            }
            connection.query("SELECT name FROM pg_prepared_statements ORDER BY name") { result in
                prepared.withLock { $0 = (try? result.get())?.rows.map { $0[0] } ?? ["(failed)"] }
                done.signal()
            }
        }
        for _ in 0..<4 { #expect(done.wait(timeout: .now() + 20) == .success) }
        loop.execute {
            (keepAlive.objects.first as? PostgresConnection)?.close()
            keepAlive.objects = []
        }
        return (answers.withLock { $0 }, prepared.withLock { $0 })
    }

    @Test func namedByDefaultPreparedOncePerConnection() throws {
        let outcome = try preparedAfterThreeRuns(named: true, database: "statements_named")
        #expect(outcome.answers == ["10", "20", "30"])
        #expect(outcome.prepared == ["times_ten"])
    }

    @Test func unnamedLeavesNothingPreparedOnTheServerConnection() throws {
        let outcome = try preparedAfterThreeRuns(named: false, database: "statements_unnamed")
        #expect(outcome.answers == ["10", "20", "30"])
        #expect(outcome.prepared == [])
    }
}
