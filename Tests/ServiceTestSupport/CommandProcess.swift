public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real `bidengine` process for the daemon tests: its stderr goes to a file the test reads while
/// it runs. `BIDENGINE_TEST_BINARY` points the tests at another build (to show they fail on it).
public final class CommandProcess {
    public static var binary: String {
        ProcessInfo.processInfo.environment["BIDENGINE_TEST_BINARY"]
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("bidengine").path
    }

    public let pid: pid_t
    public let stderrPath: String
    public let stdoutPath: String
    private var status: Int32?

    /// Spawned with `posix_spawn` and reaped with `waitpid` on its pid: Foundation's `Process` was
    /// seen to miss the exit of a child whose own child (the PostgreSQL it started) outlives it.
    ///
    /// With `stdoutReaderGone`, stdout is a pipe nobody reads and SIGPIPE has its default action,
    /// as for `bidengine … | head` after `head` has exited: the first write raises SIGPIPE.
    public init(_ arguments: [String], environment: [String: String], stdoutReaderGone: Bool = false) throws {
        stderrPath = NSTemporaryDirectory() + "bidengine-cmd-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        stdoutPath = stderrPath + ".out"
        var merged = ProcessInfo.processInfo.environment
        for key in ["DATABASE_URL", "LOG_LEVEL", "PORT", "THREADS", "ACCESS_LOG", "COMPETITOR_SOURCES"] {
            merged[key] = nil
        }
        merged.merge(environment) { $1 }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var pipeEnds: [Int32] = [-1, -1]
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if stdoutReaderGone {
            guard pipe(&pipeEnds) == 0 else { throw POSIXError(.EMFILE) }
            close(pipeEnds[0])
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
            posix_spawn_file_actions_addclose(&actions, pipeEnds[1])
            var defaults = sigset_t()
            sigemptyset(&defaults)
            sigaddset(&defaults, SIGPIPE)
            posix_spawnattr_setsigdefault(&attributes, &defaults)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        defer { if pipeEnds[1] >= 0 { close(pipeEnds[1]) } }
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([Self.binary] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, Self.binary, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL) }
        self.pid = pid
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        unlink(stderrPath)
        unlink(stdoutPath)
    }

    public var isRunning: Bool {
        guard status == nil else { return false }
        var raw: Int32 = 0
        guard waitpid(pid, &raw, WNOHANG) == pid else { return true }
        // Exit status, or 128 + the signal that ended it, as a shell reports it.
        status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        return false
    }

    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits until stderr contains `text`; false at the deadline or when the process ended first.
    public func waitForOutput(_ text: String, within limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if stderr.contains(text) { return true }
            if !isRunning { return stderr.contains(text) }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// Waits for the process to end; its status, or nil if it still runs at the deadline (then it is killed).
    public func waitForExit(within limit: Duration) -> Int32? {
        let deadline = ContinuousClock.now + limit
        while isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        return isRunning ? nil : status
    }

    public func signal(_ number: Int32) { kill(pid, number) }
}
