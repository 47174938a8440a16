import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn` and reaped with `wait4`, so that its exit status
/// and resource usage (peak RSS, CPU time) are ours to read.
final class Subprocess {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    struct Exit {
        /// Exit code, or nil when a signal ended it.
        let code: Int32?
        let signal: Int32?
        let usage: rusage
        let wallSeconds: Double

        var succeeded: Bool { code == 0 }
        var peakResidentBytes: Int { usage.ru_maxrss * 1024 }
        var cpuSeconds: Double {
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(
                usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        }
    }

    let pid: pid_t
    let executable: String
    private let started: UInt64
    private var exit: Exit?

    /// Starts `executable` with stdin from /dev/null and stdout+stderr appended to `outputPath`.
    /// `environment` adds to (or overrides) this process's environment.
    init(executable: String, arguments: [String], environment: [String: String] = [:], outputPath: String)
        throws(Failure)
    {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        // Children start with no blocked signals and default dispositions, whatever ours are.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw Failure(description: "cannot run \(executable): \(String(cString: strerror(status)))")
        }
        self.pid = pid
        self.executable = executable
        started = MonotonicClock.now()
    }

    /// A child still running when its owner lets go is killed: nothing outlives the benchmark
    /// by accident (the watchdog outlives it only when this process dies without deinit).
    deinit {
        if exit == nil {
            kill(pid, SIGKILL)
            _ = wait()
        }
    }

    func signal(_ signal: Int32) {
        if exit == nil { kill(pid, signal) }
    }

    /// The exit, if the child has ended (reaps it).
    func poll() -> Exit? {
        if let exit { return exit }
        return reap(options: WNOHANG)
    }

    /// Blocks until the child ends.
    @discardableResult
    func wait() -> Exit {
        if let exit { return exit }
        while true {
            if let exit = reap(options: 0) { return exit }
        }
    }

    /// Waits up to `seconds`, then sends SIGKILL and waits for good.
    @discardableResult
    func wait(seconds: Double) -> Exit {
        let deadline = MonotonicClock.now() + UInt64(seconds * 1e9)
        while MonotonicClock.now() < deadline {
            if let exit = poll() { return exit }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        return wait()
    }

    private func reap(options: Int32) -> Exit? {
        var status: Int32 = 0
        var usage = rusage()
        let result = wait4(pid, &status, options, &usage)
        if result == 0 { return nil }
        guard result == pid else {
            if errno == EINTR { return nil }
            // Already reaped elsewhere (or never ours): report it as gone, with no usage.
            let gone = Exit(code: nil, signal: nil, usage: rusage(), wallSeconds: elapsed())
            exit = gone
            return gone
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG spelled out: the macros do not import.
        let signalNumber = status & 0x7F
        let ended = Exit(
            code: signalNumber == 0 ? (status >> 8) & 0xFF : nil, signal: signalNumber == 0 ? nil : signalNumber,
            usage: usage, wallSeconds: elapsed())
        exit = ended
        return ended
    }

    private func elapsed() -> Double {
        Double(MonotonicClock.now() - started) / 1e9
    }

    /// Runs a command to completion and returns its exit and combined output.
    static func capture(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        timeout: Double = 60
    ) throws(Failure) -> (exit: Exit, output: String) {
        let path =
            FileManager.default.temporaryDirectory.path
            + "/bidengine-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
        defer { unlink(path) }
        let child = try Subprocess(
            executable: executable, arguments: arguments, environment: environment, outputPath: path)
        let exit = child.wait(seconds: timeout)
        let output = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return (exit, output)
    }

    /// The absolute path of `name` on PATH, or nil.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where access("\(directory)/\(name)", X_OK) == 0 {
            return "\(directory)/\(name)"
        }
        return nil
    }
}
