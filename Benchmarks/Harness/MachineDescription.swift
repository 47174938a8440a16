import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What the figures were measured on, recorded with them.
struct MachineDescription: Codable, Sendable {
    var cores: Int
    var cpuModel: String
    var memoryGigabytes: Double
    var kernel: String
    var operatingSystem: String
    var postgres: String
    var database: String
    var buildConfiguration: String
    var swiftVersion: String
    var gitCommit: String
    var serverBinary: String
    /// 1-, 5- and 15-minute load averages when the run started: other work on the machine
    /// competes with the server, PostgreSQL and the load generator for the same cores.
    var loadAverageAtStart: [Double]
    /// The same when the run ended: busy at the end means the later sections were contended.
    var loadAverageAtEnd: [Double] = []

    static func current(postgres: String, database: String, serverBinary: String) -> MachineDescription {
        MachineDescription(
            cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
            cpuModel: firstValue(in: "/proc/cpuinfo", key: "model name") ?? "unknown",
            memoryGigabytes: (firstValue(in: "/proc/meminfo", key: "MemTotal").flatMap {
                Double($0.split(separator: " ")[0])
            } ?? 0) / 1_048_576,
            kernel: kernel(),
            operatingSystem: osRelease(),
            postgres: postgres,
            database: database,
            buildConfiguration: buildConfiguration,
            swiftVersion: swiftVersion(),
            gitCommit: gitCommit(),
            serverBinary: serverBinary,
            loadAverageAtStart: loadAverage())
    }

    static func loadAverage() -> [Double] {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }

    static var buildConfiguration: String {
        #if DEBUG
            return "debug"
        #else
            return "release"
        #endif
    }

    /// `model name : Intel(R) …` → `Intel(R) …`.
    private static func firstValue(in path: String, key: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    private static func kernel() -> String {
        var names = utsname()
        uname(&names)
        let field = { (value: Any) -> String in
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return "\(field(names.sysname)) \(field(names.release)) \(field(names.machine))"
    }

    /// `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"` → `Debian GNU/Linux 12 (bookworm)`.
    private static func osRelease() -> String {
        guard let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("PRETTY_NAME=") })
        else { return "unknown" }
        return line.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    private static func swiftVersion() -> String {
        guard let swift = Subprocess.which("swift"),
            let (exit, output) = try? Subprocess.capture(swift, ["--version"], timeout: 30),
            exit.succeeded
        else { return "unknown" }
        return output.split(separator: "\n").first { $0.contains("Swift version") }.map(String.init) ?? "unknown"
    }

    /// `git rev-parse HEAD` of the working directory, marked `-dirty` when files differ from it.
    private static func gitCommit() -> String {
        guard let git = Subprocess.which("git"),
            let (exit, output) = try? Subprocess.capture(git, ["rev-parse", "HEAD"], timeout: 30),
            exit.succeeded
        else { return "unknown" }
        let commit = output.trimmingCharacters(in: .whitespacesAndNewlines)
        if let (_, status) = try? Subprocess.capture(
            git, ["status", "--porcelain", "--untracked-files=no"], timeout: 30),
            !status.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        {
            return commit + "-dirty"
        }
        return commit
    }
}
