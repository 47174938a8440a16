import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// CPU seconds used by the server process and by our PostgreSQL cluster during a run, from
/// `/proc`: on a shared two-core machine, where the time goes matters as much as the totals.
struct CPUAccounting {
    /// CPU seconds (user + system); PostgreSQL is nil when its processes are not on this host.
    struct Sample {
        var server: Double
        var postgres: Double?
    }

    let serverPID: pid_t
    /// The postmaster of the cluster in use: it and its children (backends, WAL writer,
    /// checkpointer…) are counted, and no other cluster on the machine.
    let postmasterPID: pid_t?
    private static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    func sample() -> Sample {
        var postgres: Double?
        if let postmasterPID, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") {
            var total = 0.0
            for entry in entries where entry.first?.isNumber == true {
                guard let stat = Self.stat(pid_t(entry) ?? 0) else { continue }
                if stat.pid == postmasterPID || stat.parent == postmasterPID { total += stat.seconds }
            }
            postgres = total
        }
        return Sample(server: Self.stat(serverPID)?.seconds ?? 0, postgres: postgres)
    }

    /// The parent of `pid` (a backend's parent is its postmaster).
    static func parent(of pid: pid_t) -> pid_t? {
        stat(pid)?.parent
    }

    /// pid, ppid and utime + stime from `/proc/<pid>/stat`; the command name may contain spaces
    /// and parentheses, so fields are counted after its last `)`.
    private static func stat(_ pid: pid_t) -> (pid: pid_t, parent: pid_t, seconds: Double)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the name: state(0) ppid(1) … utime(11) stime(12).
        guard fields.count > 12, let parent = pid_t(fields[1]), let user = Double(fields[11]),
            let system = Double(fields[12])
        else { return nil }
        return (pid, parent, (user + system) / ticksPerSecond)
    }
}
