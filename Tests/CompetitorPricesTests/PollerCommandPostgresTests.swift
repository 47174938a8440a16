import Foundation
import Postgres
import ServiceTestSupport
import Testing

@testable import CompetitorPrices

/// `bidengine poll` as a process: what it prints is what `poll_runs` says, and what it stored
/// is exactly the listing; and https against a real TLS server, verified, not waved through.
@Suite(.serialized) struct PollerCommandPostgresTests {
    static var binary: String { BidengineProcess.binary }

    typealias Outcome = BidengineProcess.Outcome

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> Outcome {
        try BidengineProcess.run(executable, arguments, environment: environment)
    }

    static func pollEnvironment(_ harness: PollerHarness) -> [String: String] {
        [
            "DATABASE_URL": harness.connectionString, "BIDENGINE_MIGRATIONS_DIR": ServiceHarness.migrationsDirectory,
            "LOG_LEVEL": "error", "POLL_PAGE_SIZE": "10", "POLL_RATE_PER_MINUTE": "6000", "POLL_BACKOFF_BASE": "10ms",
            "POLL_CONNECT_TIMEOUT": "2s", "POLL_READ_TIMEOUT": "2s", "COMPETITOR_SOURCES": "",
        ]
    }

    /// `key=value` pairs of a summary line.
    static func fields(_ line: Substring) -> [String: String] {
        var fields: [String: String] = [:]
        for part in line.split(separator: " ") where part.contains("=") {
            let pair = part.split(separator: "=", maxSplits: 1)
            fields[String(pair[0])] = String(pair[1])
        }
        return fields
    }

    @Test func pollStoresExactlyTheListingAndPrintsWhatPollRunsSays() throws {
        let harness = try PollerHarness(database: "poller_command")
        var catalog = PollerFakeServer.products((1...23).map { ($0, "\($0).0\($0 % 10)") })
        catalog[22] = #"{"id":23,"title":"bad","price":"n/a"}"#
        let server = try PollerFakeServer(catalog: catalog)
        let outcome = try Self.run(
            Self.binary, ["poll", "--source", "http://127.0.0.1:\(server.port)"],
            environment: Self.pollEnvironment(harness))
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let lines = outcome.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        let printed = Self.fields(lines[0])
        #expect(printed["source"] == "http://127.0.0.1:\(server.port)")
        #expect(
            printed["status"] == "ok" && printed["pages"] == "3" && printed["seen"] == "23" && printed["stored"] == "22"
        )
        #expect(printed["rejected"] == "1" && printed["errors"] == "0" && printed["requests"] == "3")

        let run = try harness.storedRun(printed["run"].flatMap { Int64($0) })
        #expect(run != nil)
        if let run {
            #expect(printed["status"] == run.status.rawValue && printed["pages"] == String(run.pages))
            #expect(printed["seen"] == String(run.itemsSeen) && printed["stored"] == String(run.itemsStored))
            #expect(printed["rejected"] == String(run.itemsRejected) && printed["errors"] == String(run.errors))
            #expect(printed["requests"] == String(run.requests) && run.error == nil)
        }
        let stored = try harness.prices(server)
        #expect(stored.map(\.0) == (1...22).map(String.init))
        #expect(stored.map(\.1) == (1...22).map { "\($0).0\($0 % 10)" })

        // Unchanged prices the same UTC day: nothing new, and the next run says so. At info, every
        // page is logged as it is stored: source, page, items, the wait for the rate limit.
        let again = try Self.run(
            Self.binary, ["poll", "--source", "http://127.0.0.1:\(server.port)"],
            environment: Self.pollEnvironment(harness).merging(["LOG_LEVEL": "info"]) { $1 })
        let pageLines = again.stderr.split(separator: "\n").filter { $0.contains(#""msg":"page stored""#) }
        #expect(pageLines.count == 3, "\(again.stderr)")
        for (index, line) in pageLines.enumerated() {
            #expect(line.contains(#""source":"http://127.0.0.1:\#(server.port)""#))
            #expect(line.contains(#""page":"\#(index + 1)""#) && line.contains(#""pages_expected":"3""#))
            #expect(line.contains(#""items":"\#(index == 2 ? 3 : 10)""#))
            #expect(line.contains(#""rate_limit_wait_ms":""#))
        }
        #expect(Self.fields(again.stdout.split(separator: "\n")[0])["stored"] == "0")
        #expect(try harness.prices(server).count == 22)
    }

    @Test func aFailedSourceExitsNonZeroAndBadSettingsAreNamed() throws {
        let harness = try PollerHarness(database: "poller_command_failed")
        let down = try PollerFakeServer { _, _ in .json("{}", status: 404) }
        let outcome = try Self.run(
            Self.binary, ["poll", "--source", "http://127.0.0.1:\(down.port)"],
            environment: Self.pollEnvironment(harness))
        #expect(outcome.status == 1)
        #expect(outcome.stdout.contains("status=failed") && outcome.stdout.contains(#"error="skip=0: HTTP 404""#))

        var environment = Self.pollEnvironment(harness)
        environment["POLL_INTERVAL"] = "often"
        let invalid = try Self.run(Self.binary, ["poll", "--source", "http://127.0.0.1:1"], environment: environment)
        #expect(invalid.status != 0 && invalid.stderr.contains("POLL_INTERVAL"))
        let none = try Self.run(Self.binary, ["poll"], environment: Self.pollEnvironment(harness))
        #expect(none.status != 0 && none.stderr.contains("COMPETITOR_SOURCES"))
    }

    // MARK: TLS

    /// A self-signed certificate for 127.0.0.1 and localhost, and a Python `http.server` wrapped in
    /// `ssl` serving one products page with it.
    final class TLSServer {
        let directory: String
        let process: Process
        let port: Int

        init() throws {
            directory =
                FileManager.default.temporaryDirectory.appendingPathComponent("poller-tls-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let openssl = try PollerCommandPostgresTests.run(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=bidengine-poller-test",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
                ], environment: [:])
            guard openssl.status == 0 else { throw POSIXError(.EIO) }
            try """
            import http.server, ssl, sys
            BODY = b'{"products":[{"id":1,"title":"TLS item","price":12.34,"brand":"B","category":"c"}],"total":1,"skip":0,"limit":10}'
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(BODY)))
                    self.end_headers()
                    self.wfile.write(BODY)
                def log_message(self, *args):
                    pass
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[1] + "/cert.pem", sys.argv[1] + "/key.pem")
            server.socket = context.wrap_socket(server.socket, server_side=True)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """.write(toFile: directory + "/server.py", atomically: true, encoding: .utf8)
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [directory + "/server.py", directory]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            var line: [UInt8] = []
            while line.last != UInt8(ascii: "\n") {
                let byte = output.fileHandleForReading.readData(ofLength: 1)
                guard !byte.isEmpty else { break }
                line += byte
            }
            guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            else {
                kill(process.processIdentifier, SIGKILL)
                throw POSIXError(.EIO)
            }
            self.port = port
        }

        deinit {
            // SIGKILL: the child may inherit an ignored SIGTERM from the test runner.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// The system CA bundle plus this server's certificate.
        func bundleWithCertificate() throws -> String {
            let system = (try? String(contentsOfFile: "/etc/ssl/certs/ca-certificates.crt", encoding: .utf8)) ?? ""
            let own = try String(contentsOfFile: directory + "/cert.pem", encoding: .utf8)
            try (system + "\n" + own).write(toFile: directory + "/bundle.pem", atomically: true, encoding: .utf8)
            return directory + "/bundle.pem"
        }
    }

    /// The TLS server needs openssl(1) for its certificate and python3 to serve.
    static let hasTLSTools = ["/usr/bin/openssl", "/usr/bin/python3"].allSatisfy {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Private mount namespaces need root (or CAP_SYS_ADMIN) and util-linux's `unshare`.
    static let canUnshare: Bool = {
        guard hasTLSTools, getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else {
            return false
        }
        return (try? run("/usr/bin/unshare", ["-m", "true"], environment: [:]).status) == 0
    }()

    @Test(.enabled(if: hasTLSTools, "needs /usr/bin/openssl and /usr/bin/python3"))
    func httpsIsVerifiedAgainstTheCAStore() throws {
        let harness = try PollerHarness(database: "poller_tls_untrusted")
        let tls = try TLSServer()
        // Not in the trust store: refused, and not retried (retrying cannot fix a certificate).
        let summary = try harness.poller().poll(CompetitorSource(parsing: "https://127.0.0.1:\(tls.port)"))
        #expect(summary.status == .failed && summary.requests == 1)
        #expect(summary.error?.contains("TLS error") == true, "\(summary.error ?? "")")
        #expect(summary.error?.lowercased().contains("certificate") == true, "\(summary.error ?? "")")
    }

    /// FoundationNetworking on Linux trusts exactly the system CA store (it offers no per-session
    /// trust hook), so the certificate is added the way an operator would add a private CA, but
    /// only for one `bidengine poll` process: a bundle with it is bind-mounted over the system
    /// bundle inside a private mount namespace. Verification stays on; the machine is untouched.
    @Test(.enabled(if: canUnshare, "needs root, unshare(1), openssl and python3"))
    func httpsWorksAgainstARealTLSServerWhenItsCertificateIsTrusted() throws {
        let harness = try PollerHarness(database: "poller_tls_trusted")
        let tls = try TLSServer()
        let bundle = try tls.bundleWithCertificate()
        for host in ["127.0.0.1", "localhost"] {
            let script = """
                mount --bind "$1" /etc/ssl/certs/ca-certificates.crt && exec "$2" poll --source "$3"
                """
            let outcome = try Self.run(
                "/usr/bin/unshare",
                [
                    "-m", "--propagation", "private", "/bin/sh", "-c", script, "sh", bundle, Self.binary,
                    "https://\(host):\(tls.port)",
                ], environment: Self.pollEnvironment(harness))
            #expect(outcome.status == 0, "\(outcome.stdout) \(outcome.stderr)")
            let printed = Self.fields(outcome.stdout.split(separator: "\n").first ?? "")
            #expect(
                printed["status"] == "ok" && printed["pages"] == "1" && printed["stored"] == "1", "\(outcome.stdout)")
        }
        let stored = try harness.session.execute("SELECT source, price::text FROM competitor_prices ORDER BY id").rows
        #expect(stored == [["https://127.0.0.1:\(tls.port)", "12.34"], ["https://localhost:\(tls.port)", "12.34"]])
    }
}
