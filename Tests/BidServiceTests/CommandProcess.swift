import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real `bidengine` process for the daemon tests: its stderr goes to a file the test reads while
/// it runs. `BIDENGINE_TEST_BINARY` points the tests at another build (to show they fail on it).
final class CommandProcess {
    static var binary: String {
        ProcessInfo.processInfo.environment["BIDENGINE_TEST_BINARY"]
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("bidengine").path
    }

    let process = Process()
    let stderrPath: String

    init(_ arguments: [String], environment: [String: String], directory: String? = nil) throws {
        stderrPath = NSTemporaryDirectory() + "bidengine-cmd-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for key in ["DATABASE_URL", "LOG_LEVEL", "PORT", "THREADS", "ACCESS_LOG", "COMPETITOR_SOURCES"] {
            merged[key] = nil
        }
        process.environment = merged.merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        unlink(stderrPath)
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits until stderr contains `text`; false at the deadline or when the process ended first.
    func waitForOutput(_ text: String, within limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if stderr.contains(text) { return true }
            if !process.isRunning { return stderr.contains(text) }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// Waits for the process to end; its status, or nil if it still runs at the deadline (then it is killed).
    func waitForExit(within limit: Duration) -> Int32? {
        let deadline = ContinuousClock.now + limit
        while process.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        guard !process.isRunning else { return nil }
        return process.terminationStatus
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }
}
