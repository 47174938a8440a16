/// Cleans up after the benchmark however it ends (including Ctrl-C or a crash): a shell that outlives it
/// waits for this process to go, then kills the server child, shuts the embedded cluster down
/// (SIGQUIT to its postmaster: immediate shutdown) and deletes the working directory.
///
/// On a normal exit the caller cleans up itself and then releases the returned child, which
/// kills the watchdog: it never acts on pids that may have been reused by then.
enum Watchdog {
    static func arm(benchmarkPID: Int32, serverPID: Int32, dataDirectory: String?, workDirectory: String) throws
        -> Subprocess
    {
        let postmaster =
            dataDirectory.map { directory in
                "[ -f '\(directory)/postmaster.pid' ] && kill -QUIT \"$(head -1 '\(directory)/postmaster.pid')\" 2>/dev/null; sleep 1"
            } ?? ":"
        let script = """
            while kill -0 \(benchmarkPID) 2>/dev/null; do sleep 0.5; done
            grep -q bidengine /proc/\(serverPID)/cmdline 2>/dev/null && kill -9 \(serverPID)
            \(postmaster)
            rm -rf '\(workDirectory)'
            """
        return try Subprocess(executable: "/bin/sh", arguments: ["-c", script], outputPath: "/dev/null")
    }
}
