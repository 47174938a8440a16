import BidCore
import HTTPServer
import Postgres
import ServiceSupport

/// `/healthz` (alive, no database) and `/readyz` (this loop's database connection is up and the
/// schema is at the version this binary expects), cheap enough to probe every second: readiness
/// asks PostgreSQL at most once per second per loop and answers from that.
final class HealthRoutes {
    private let connection: PostgresConnection
    private let expectedSchemaVersion: Int
    private var lastCheck: ContinuousClock.Instant?
    private var lastVerdict: (ready: Bool, reason: String) = (false, "not checked yet")
    private var checkInFlight: [HTTPResponder] = []

    init(connection: PostgresConnection, expectedSchemaVersion: Int) {
        self.connection = connection
        self.expectedSchemaVersion = expectedSchemaVersion
    }

    func register(into router: inout Router) {
        router.add(.GET, "/healthz", Self.alive)
        router.add(.GET, "/readyz") { [self] _, responder in ready(responder) }
    }

    /// `/healthz`: the process answers; nothing else is asked (also the scheduler's probe).
    static func alive(_: HTTPRequest, _ responder: HTTPResponder) {
        responder.respond(JSONResponse.ok(Array(#"{"status":"ok"}"#.utf8)))
    }

    private func ready(_ responder: HTTPResponder) {
        guard connection.isConnected else {
            answer(responder, ready: false, reason: "database unreachable")
            return
        }
        if let lastCheck, lastCheck.duration(to: .now) < .seconds(1) {
            answer(responder, ready: lastVerdict.ready, reason: lastVerdict.reason)
            return
        }
        checkInFlight.append(responder)
        guard checkInFlight.count == 1 else { return }
        connection.query(MigrationRunner.currentVersionSQL) { [self] outcome in
            switch outcome {
            case .success(let result):
                let version = result.scalar.flatMap { Int($0) } ?? 0
                lastVerdict =
                    version >= expectedSchemaVersion
                    ? (true, "ready")
                    : (false, "schema version \(version), expected \(expectedSchemaVersion): run bidengine migrate")
            case .failure(let error):
                lastVerdict = (false, "database check failed: \(error.kind == .query ? error.message : "unreachable")")
            }
            lastCheck = .now
            let waiting = checkInFlight
            checkInFlight = []
            for responder in waiting { answer(responder, ready: lastVerdict.ready, reason: lastVerdict.reason) }
        }
    }

    private func answer(_ responder: HTTPResponder, ready: Bool, reason: String) {
        var writer = JSONWriter(capacity: 64)
        writer.beginObject()
        writer.member("status", ready ? "ready" : "unavailable")
        if !ready { writer.member("reason", reason) }
        writer.endObject()
        responder.respond(JSONResponse.ok(writer.bytes, status: ready ? 200 : 503))
    }
}
