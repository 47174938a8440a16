public import BidCore
public import BidService
import Foundation
public import HTTPTestSupport
public import Logging
public import Postgres
import PostgresTestSupport

/// A real `BidServer` on an ephemeral port over a fresh database, for tests that go through
/// real sockets to real PostgreSQL.
public final class ServiceHarness {
    public let server: BidServer
    public let connectionString: String
    public let session: PostgresSession

    public static let migrationsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("../../Migrations").standardized.path

    public init(
        database: String, threads: Int = 2, connectionString: String? = nil, logger: Logger? = nil,
        configure: (inout ServiceConfiguration) -> Void = { _ in }
    ) throws {
        let url = try connectionString ?? TestDatabase.fresh(database)
        var configuration = ServiceConfiguration()
        configuration.port = 0
        configuration.threads = threads
        configuration.databaseURL = url
        configuration.migrationsDirectory = Self.migrationsDirectory
        configure(&configuration)
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        server = BidServer(configuration: configuration, logger: logger ?? quiet)
        try server.start()
        self.connectionString = url
        session = try PostgresSession(connectionString: url)
    }

    deinit {
        server.shutdown()
    }

    public var port: Int { server.port }

    public func client() throws -> TestHTTPClient {
        try TestHTTPClient(port: port)
    }

    public func postBid(_ body: String, client: TestHTTPClient? = nil, contentType: String? = "application/json") throws
        -> TestResponse
    {
        let client = try client ?? self.client()
        var headers: [(String, String)] = []
        if let contentType { headers.append(("Content-Type", contentType)) }
        return try client.request("POST", "/api/bid", headers: headers, body: Array(body.utf8))
    }

    public func count(_ table: String = "bids") throws -> Int {
        Int(try session.execute("SELECT count(*) FROM \(table)").scalar ?? "") ?? -1
    }
}

extension TestResponse {
    /// The body parsed as JSON (numbers kept as their exact text).
    public var json: JSONValue? { try? JSONParser.parse(body) }
}
