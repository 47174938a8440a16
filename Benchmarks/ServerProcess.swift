import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `bidengine serve --bench-endpoints` as a child process on a free loopback port.
final class ServerProcess {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let binary: String
    let host = "127.0.0.1"
    let port: Int
    /// Sent as `Authorization: Bearer` on `/api/*`; unlimited.
    let apiKey: String
    /// A second key, with the quota `limitedQuota` (the isolation section sends it over quota).
    /// A server that does not know quotas reads its line as a key that nobody sends.
    let limitedKey: String
    let limitedQuota = (rate: 100, burst: 100)
    let logPath: String
    private let child: Subprocess

    var pid: pid_t { child.pid }

    init(binary: String, databaseURL: String, threads: Int, maxBatchSize: Int?, logPath: String) throws {
        self.binary = binary
        self.logPath = logPath
        port = try Self.freePort()
        // pragma: allowlist nextline secret (a random key for this benchmark run only)
        apiKey = "bench-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        // pragma: allowlist nextline secret (a random key for this benchmark run only)
        limitedKey = "limited-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let keyFile = logPath + ".keys"
        try "\(apiKey)\n\(limitedKey) name=limited rate=\(limitedQuota.rate) burst=\(limitedQuota.burst)\n"
            .write(toFile: keyFile, atomically: true, encoding: .utf8)
        var arguments = ["serve", "--host", host, "--port", String(port), "--bench-endpoints"]
        if threads > 0 { arguments += ["--threads", String(threads)] }
        if let maxBatchSize { arguments += ["--max-batch-size", String(maxBatchSize)] }
        child = try Subprocess(
            executable: binary, arguments: arguments,
            environment: ["DATABASE_URL": databaseURL, "LOG_LEVEL": "warning", "BIDENGINE_API_KEYS_FILE": keyFile],
            outputPath: logPath)
    }

    /// Polls `/readyz` until it answers 200 (database connected, schema current).
    func waitUntilReady(timeout: Double = 60) throws {
        let deadline = MonotonicClock.now() + UInt64(timeout * 1e9)
        var lastProblem = "no answer yet"
        while MonotonicClock.now() < deadline {
            if let exit = child.poll() {
                throw Failure(
                    description:
                        "bidengine serve exited (\(exit.code.map { "status \($0)" } ?? "signal \(exit.signal ?? 0)")) before it was ready; log: \(logPath)\n\(logTail())"
                )
            }
            do {
                let response = try BlockingHTTPClient.request(host: host, port: port, path: "/readyz", timeout: 1)
                if response.status == 200 { return }
                lastProblem = "/readyz answered \(response.status)"
            } catch {
                lastProblem = "\(error)"
            }
            usleep(50_000)
        }
        throw Failure(
            description:
                "bidengine serve not ready after \(Int(timeout)) s (\(lastProblem)); log: \(logPath)\n\(logTail())")
    }

    /// SIGTERM (graceful drain), then SIGKILL if it takes longer than `timeout`.
    @discardableResult
    func stop(timeout: Double = 15) -> Subprocess.Exit {
        child.signal(SIGTERM)
        return child.wait(seconds: timeout)
    }

    func logTail(lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// A port nobody listens on right now (the kernel's pick for an ephemeral bind).
    private static func freePort() throws(Failure) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "cannot find a free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
