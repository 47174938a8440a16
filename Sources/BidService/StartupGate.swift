import HTTPServer
import JSONRoutes
import Synchronization

/// Closed while `serve` reaches and migrates its database, open from then on.
///
/// The port is listening during that wait so that a liveness probe (`/healthz`) is answered at
/// once and a pod waiting for its database is not killed. Until the gate opens, `/readyz` answers
/// 503 and `/api/*` answers 503 with `Retry-After` without touching the database (`/healthz` and
/// `/metrics` answer as usual); the loops' database connections start only when it opens, so
/// nothing reaches a schema that is not migrated yet.
final class StartupGate: Sendable {
    private struct State {
        var isOpen = false
        /// Work each loop does when the gate opens, run on that loop.
        var waiting: [(loop: EventLoop, action: @Sendable () -> Void)] = []
    }

    private let state = Mutex(State())
    private let openFlag = Atomic(false)

    static let reason = "starting: waiting for the database"

    var isOpen: Bool { openFlag.load(ordering: .acquiring) }

    /// Runs `action` on `loop` when the gate opens (or now, on the calling loop, when it is open).
    /// Call it on `loop`'s thread.
    func whenOpen(on loop: EventLoop, _ action: @escaping () -> Void) {
        // Loop-confined work (it captures that loop's connection), run later on that same loop.
        nonisolated(unsafe) let loopAction = action
        let runNow = state.withLock { state -> Bool in
            if state.isOpen { return true }
            state.waiting.append((loop, { loopAction() }))
            return false
        }
        if runNow { action() }
    }

    /// Opens the gate: every loop starts what it was waiting to start. From any thread, once.
    func open() {
        let waiting = state.withLock { state -> [(loop: EventLoop, action: @Sendable () -> Void)] in
            state.isOpen = true
            defer { state.waiting = [] }
            return state.waiting
        }
        openFlag.store(true, ordering: .releasing)
        for (loop, action) in waiting { loop.execute(action) }
    }

    /// `handler` while open; a 503 with `Retry-After` before.
    func guarding(_ handler: @escaping HTTPHandler) -> HTTPHandler {
        { [self] request, responder in
            guard isOpen else {
                responder.respond(
                    JSONResponse.error(503, "\(Self.reason); retry later", headers: [("Retry-After", "1")]))
                return
            }
            handler(request, responder)
        }
    }
}
