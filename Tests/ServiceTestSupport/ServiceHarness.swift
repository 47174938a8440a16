import BidCore
import BidService
import Foundation
import HTTPTestSupport
import Logging
import Postgres

/// A real `BidServer` on an ephemeral port over a fresh database, for tests that go through
/// real sockets to real PostgreSQL.
final class ServiceHarness {
    let server: BidServer
    let connectionString: String
    let session: PostgresSession

    static let migrationsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("../../Migrations").standardized.path

    init(
        database: String, threads: Int = 2, connectionString: String? = nil,
        configure: (inout ServiceConfiguration) -> Void = { _ in }
    ) throws {
        let url = try connectionString ?? TestDatabase.fresh(database)
        var configuration = ServiceConfiguration()
        configuration.port = 0
        configuration.threads = threads
        configuration.databaseURL = url
        configuration.migrationsDirectory = Self.migrationsDirectory
        configure(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        server = BidServer(configuration: configuration, logger: logger)
        try server.start()
        self.connectionString = url
        session = try PostgresSession(connectionString: url)
    }

    deinit {
        server.shutdown()
    }

    var port: Int { server.port }

    func client() throws -> TestHTTPClient {
        try TestHTTPClient(port: port)
    }

    func postBid(_ body: String, client: TestHTTPClient? = nil, contentType: String? = "application/json") throws
        -> TestResponse
    {
        let client = try client ?? self.client()
        var headers: [(String, String)] = []
        if let contentType { headers.append(("Content-Type", contentType)) }
        return try client.request("POST", "/api/bid", headers: headers, body: Array(body.utf8))
    }

    func count(_ table: String = "bids") throws -> Int {
        Int(try session.execute("SELECT count(*) FROM \(table)").scalar ?? "") ?? -1
    }
}

extension TestResponse {
    /// The body parsed as JSON (numbers kept as their exact text).
    var json: JSONValue? { try? JSONParser.parse(body) }
}
