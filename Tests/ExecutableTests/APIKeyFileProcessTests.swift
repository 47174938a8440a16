import Foundation
import ServiceTestSupport
import Testing

/// A key source that is configured but unusable stops `serve` before anything starts: exit 64,
/// naming the source (and for a bad line, the line and why). An empty file would otherwise open
/// the API to everyone.
struct APIKeyFileProcessTests {
    struct Case: Sendable, CustomStringConvertible {
        let file: String?
        let environment: [String: String]
        let message: String
        var description: String { message }
    }

    static let refused: [Case] = [
        Case(file: "", environment: [:], message: "holds no key: refusing to start with /api/* open to anyone"),
        Case(file: "# keys go here\n\n", environment: [:], message: "holds no key"),
        Case(
            file: "good-key name=web\nsecond rate=ten\n", environment: [:],
            message: "line 2: rate must be a whole number of bids from 1 to 1000000000, got 'ten'"),
        Case(
            file: nil, environment: ["BIDENGINE_API_KEYS": " , "],
            message: "BIDENGINE_API_KEYS is set but holds no key"),
        Case(
            file: "k1", environment: ["API_KEY_BURST": "10"],
            message: "API_KEY_BURST needs API_KEY_RATE"),
        Case(
            file: "k1", environment: ["API_KEY_RATE": "-1"],
            message:
                "API_KEY_RATE must be a whole number from 1 to 1000000000 (bids per second per key), or 0 for unlimited, got '-1'"
        ),
    ]

    @Test(arguments: refused)
    func anUnusableKeySourceStopsServeWithExit64(_ refused: Case) throws {
        let directory = NSTemporaryDirectory() + "bidengine-keys-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var environment = refused.environment
        if let file = refused.file {
            let path = directory + "/keys"
            try file.write(toFile: path, atomically: true, encoding: .utf8)
            environment["BIDENGINE_API_KEYS_FILE"] = path
        }
        let state = directory + "/state"
        let command = try CommandProcess(["serve", "--port", "0", "--state-dir", state], environment: environment)
        #expect(command.waitForExit(within: .seconds(10)) == 64)
        #expect(command.stderr.contains(refused.message), "\(command.stderr)")
        if refused.file != nil, refused.environment.isEmpty {
            #expect(command.stderr.contains("BIDENGINE_API_KEYS_FILE \(directory)/keys"), "\(command.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: state), "started something under \(state)")
    }
}
