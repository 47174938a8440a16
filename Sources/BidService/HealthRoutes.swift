import BidCore
import HTTPServer
import JSONRoutes
import Postgres

/// `/healthz` (alive, no database: it answers from the moment the port listens, also while start-up
/// waits for the database) and `/readyz` (this loop's database connection is up and the
/// schema is at the version this binary expects), cheap enough to probe every second: readiness
/// asks PostgreSQL at most once per second per loop and answers from that.
///
/// With a read replica, `/readyz` also says where reads go (`"reads":"replica"`, or
/// `"primary (replica_down)"` …). A replica in trouble does not make the pod unready: its reads
/// fall back to the primary, which serves them; taking every pod out of rotation because the one
/// replica lags would turn a slower read into an outage.
final class HealthRoutes {
    private let connection: PostgresConnection
    private let reader: PostgresReadRouter?
    private let expectedSchemaVersion: Int
    private let startup: StartupGate?
    private var lastCheck: ContinuousClock.Instant?
    private var lastVerdict: (ready: Bool, reason: String) = (false, "not checked yet")
    private var checkInFlight: [HTTPResponder] = []

    init(
        connection: PostgresConnection, reader: PostgresReadRouter? = nil, expectedSchemaVersion: Int,
        startup: StartupGate? = nil
    ) {
        self.connection = connection
        self.startup = startup
        self.reader = reader
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
        if let startup, !startup.isOpen {
            answer(responder, ready: false, reason: StartupGate.reason)
            return
        }
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
        if let reader, reader.replica != nil {
            switch reader.currentTarget {
            case .replica: writer.member("reads", "replica")
            case .primary(let why): writer.member("reads", "primary (\(why.rawValue))")
            }
        }
        writer.endObject()
        responder.respond(JSONResponse.ok(writer.bytes, status: ready ? 200 : 503))
    }
}
