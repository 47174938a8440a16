import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Which processes use an embedded cluster: one file per process under `<state>/users/`, named
/// after its pid and holding its start time (so a recycled pid does not count), changed only under
/// an exclusive `flock` on `<state>/users.lock`.
///
/// The cluster is started by the first user and stopped by the last one to leave; a user that died
/// without leaving (SIGKILL) is dropped the next time anyone looks, because its pid is gone or
/// belongs to a younger process. `owned` records that a bidengine process started the cluster, so a
/// cluster someone else started is never stopped by us.
struct ClusterUsers {
    let stateDirectory: String

    private var usersDirectory: String { stateDirectory + "/users" }
    private var ownedMarker: String { stateDirectory + "/users/owned" }

    /// Runs `body` holding the lock (blocking until it is free; held for a cluster start at most).
    func locked<T>(_ body: () throws -> T) throws -> T {
        try FileManager.default.createDirectory(atPath: usersDirectory, withIntermediateDirectories: true)
        let fd = open(stateDirectory + "/users.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw EmbeddedPostgres.Failure(description: "cannot open \(stateDirectory)/users.lock (errno \(errno))")
        }
        defer { close(fd) }  // closing releases the lock
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw EmbeddedPostgres.Failure(description: "cannot lock \(stateDirectory)/users.lock (errno \(errno))")
            }
        }
        return try body()
    }

    /// The live users (pids), after removing the files of processes that are gone.
    func live() -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: usersDirectory)) ?? []
        var alive: [Int32] = []
        for name in names {
            guard let pid = Int32(name) else { continue }
            let path = usersDirectory + "/" + name
            let recorded = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespaces)
            if let started = Self.startTime(of: pid), recorded == started {
                alive.append(pid)
            } else {
                unlink(path)
            }
        }
        return alive.sorted()
    }

    func join(pid: Int32 = getpid()) throws {
        guard let started = Self.startTime(of: pid) else {
            throw EmbeddedPostgres.Failure(description: "cannot read the start time of process \(pid)")
        }
        try Data(started.utf8).write(to: URL(fileURLWithPath: usersDirectory + "/\(pid)"))
    }

    func leave(pid: Int32 = getpid()) {
        unlink(usersDirectory + "/\(pid)")
    }

    var owned: Bool {
        get { access(ownedMarker, F_OK) == 0 }
        nonmutating set {
            if newValue {
                _ = FileManager.default.createFile(atPath: ownedMarker, contents: Data())
            } else {
                unlink(ownedMarker)
            }
        }
    }

    /// Field 22 of `/proc/<pid>/stat` (clock ticks since boot), or nil when the process is gone.
    static func startTime(of pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)" come fields 3…; the command name may itself contain spaces or parentheses.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }
}
