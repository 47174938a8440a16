#if canImport(Glibc)
    import Glibc
#endif

extension EmbeddedPostgres {
    /// Stops the cluster (immediate mode) and deletes its state directory once this process has
    /// ended, however it ends. Test runners do not reliably run `atexit` handlers, so a detached
    /// watchdog shell waits for this process to go away and then cleans up.
    public func stopAndDeleteWhenProcessEnds() throws {
        let stop = stopCommand(mode: "immediate").map { "'\($0)'" }.joined(separator: " ")
        try ChildProcess.spawnDetached(
            script: """
                while kill -0 \(getpid()) 2>/dev/null; do sleep 0.5; done
                \(stop) >/dev/null 2>&1
                rm -rf '\(stateDirectory)'
                """)
    }
}
