import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The embedded clusters this process has joined, so that every way out of the process leaves
/// them: `stop()` on the normal path, `leaveAll()` from a signal handler's thread before `_exit`,
/// and an `atexit` handler for `exit()` anywhere. Only SIGKILL (and a crash) skips them all; the
/// next user to look then drops the dead process's file (`ClusterUsers.live()`).
///
/// One lock serialises joining and leaving: a signal that arrives while `start()` is registering
/// waits for it (pg_ctl start, a few seconds at most) and then removes that registration too,
/// instead of racing it and leaving a file behind for a process that is gone.
final class ProcessMembership: @unchecked Sendable {
    private let lock = NSLock()
    private var clusters: [EmbeddedPostgres] = []
    /// Set by `close()`: the process is ending and joins no cluster any more.
    private var closed = false
    private var exitHandlerInstalled = false

    struct Closed: Error, CustomStringConvertible {
        var description: String { "the process is shutting down; not joining the embedded cluster" }
    }

    /// Runs `register` (which joins `cluster` in the state directory) under the lock.
    func join(_ cluster: EmbeddedPostgres, register: () throws -> Void) throws {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { throw Closed() }
        if !exitHandlerInstalled {
            atexit(leaveEmbeddedClustersAtExit)
            exitHandlerInstalled = true
        }
        try register()
        if !clusters.contains(where: { $0 === cluster }) { clusters.append(cluster) }
    }

    func leave(_ cluster: EmbeddedPostgres) {
        lock.lock()
        defer { lock.unlock() }
        cluster.leaveHoldingMembership()
        clusters.removeAll { $0 === cluster }
    }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        closed = true
        for cluster in clusters { cluster.leaveHoldingMembership() }
        clusters = []
    }
}

extension EmbeddedPostgres {
    static let membership = ProcessMembership()
}

/// File scope, so that the C callback inherits no actor isolation.
private func leaveEmbeddedClustersAtExit() {
    EmbeddedPostgres.leaveAll()
}
