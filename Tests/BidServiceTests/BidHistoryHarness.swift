import Foundation
import HTTPServer
import HTTPTestSupport
import Postgres
import ServiceTestSupport

@testable import BidService
@testable import JSONRoutes

/// A `ServiceHarness` whose server answers the history routes. Until `LoopServices.router()`
/// registers `BidHistoryRoutes`, a second server with just those routes runs over the same
/// database; once it does, that extra server is not started and the tests hit the real one.
final class BidHistoryHarness {
    let service: ServiceHarness
    private let historyServer: HTTPServer?

    init(database: String) throws {
        service = try ServiceHarness(database: database)
        let probe = try TestHTTPClient(port: service.port).request("GET", "/api/bids/0")
        if probe.status == 404, probe.text == #"{"error":"not found"}"# {
            historyServer = try Self.startHistoryServer(connectionString: service.connectionString)
        } else {
            historyServer = nil
        }
    }

    deinit {
        historyServer?.shutdown(deadline: .seconds(2))
    }

    /// Whether the real server's router serves the history routes (so the standalone one is idle).
    var servedByBidServer: Bool { historyServer == nil }

    var port: Int { historyServer?.boundPort ?? service.port }
    var session: PostgresSession { service.session }

    func client() throws -> TestHTTPClient {
        try TestHTTPClient(port: port)
    }

    func get(_ path: String, client: TestHTTPClient? = nil) throws -> TestResponse {
        try (client ?? self.client()).request("GET", path)
    }

    /// Inserts a bid with a chosen id and time (text exactly as PostgreSQL should store it).
    func insert(
        id: Int64, product: String, cpc: String = "1.00", roas: String = "100", adjusted: String = "1.00",
        at time: String
    ) throws {
        try session.execute(
            "INSERT INTO bids (id, product_id, current_cpc, target_roas, adjusted_cpc, calculated_at) VALUES ($1, $2, $3, $4, $5, $6)",
            [String(id), product, cpc, roas, adjusted, time])
    }

    /// One server with only the history routes, each loop with its own connection (as in
    /// `LoopServices`).
    static func startHistoryServer(connectionString: String, threads: Int = 1) throws -> HTTPServer {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = threads
        let server = HTTPServer(configuration: configuration) { loop in
            var connectionConfiguration = PostgresConnection.Configuration(connectionString: connectionString)
            connectionConfiguration.statementTimeout = .milliseconds(500)
            connectionConfiguration.connectTimeout = .milliseconds(500)
            let connection = PostgresConnection(
                configuration: connectionConfiguration, reactor: LoopReactor(loop: loop))
            connection.start()
            var router = Router()
            BidHistoryRoutes(connection: connection).register(into: &router)
            return router
        }
        try server.start()
        return server
    }
}
