import Foundation
import HTTPTestSupport
import ServiceTestSupport
import Testing

/// `openapi.yaml` names exactly the routes a default `bidengine serve` answers: a route added to a
/// router without a line in the contract fails here, and so does a documented route nobody serves.
/// (What each route answers is Schemathesis's job: `scripts/ci/schemathesis.sh`.)
@Suite(.serialized) struct OpenAPIContractPostgresTests {
    struct Operation: Hashable, CustomStringConvertible {
        let method: String
        let path: String
        var description: String { "\(method) \(path)" }
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
        .standardized

    @Test func theContractNamesExactlyTheServedRoutes() throws {
        let documented = try Self.documentedOperations()
        #expect(documented.contains(Operation(method: "POST", path: "/api/bid")), "cannot read openapi.yaml's paths")
        // Served means answered by a handler: neither the router's own 404 nor a 405.
        let harness = try ServiceHarness(database: "openapi_contract")
        let client = try harness.client()
        var served: Set<Operation> = []
        for operation in documented.union(try Self.registeredOperations()) {
            let path = operation.path.replacingOccurrences(of: #"\{[^}/]+\}"#, with: "1", options: .regularExpression)
            let isPost = operation.method == "POST"
            let response = try client.request(
                operation.method, path, headers: isPost ? [("Content-Type", "application/json")] : [],
                body: isPost ? Array("{}".utf8) : [])
            let unrouted =
                (response.status == 404 && response.text == #"{"error":"not found"}"#) || response.status == 405
            if !unrouted { served.insert(operation) }
        }
        #expect(
            served.subtracting(documented).isEmpty,
            "served but missing from openapi.yaml: \(served.subtracting(documented).sorted { $0.description < $1.description })"
        )
        #expect(
            documented.subtracting(served).isEmpty,
            "in openapi.yaml but not served: \(documented.subtracting(served).sorted { $0.description < $1.description })"
        )
    }

    /// The operations under `paths:`: a path at two spaces of indentation, its methods at four.
    /// Enough YAML for this file's layout, which the test therefore also pins down.
    static func documentedOperations() throws -> Set<Operation> {
        let text = try String(contentsOf: root.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        var operations: Set<Operation> = []
        var inPaths = false
        var path: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" "), !line.isEmpty {
                inPaths = line == "paths:"
                continue
            }
            guard inPaths else { continue }
            if let match = line.wholeMatch(of: /\ {2}(\/[^ ]*):/) {
                path = String(match.1)
            } else if let match = line.wholeMatch(of: /\ {4}(get|put|post|delete|patch|head|options|trace):/), let path
            {
                operations.insert(Operation(method: match.1.uppercased(), path: path))
            }
        }
        return operations
    }

    /// Every `router.add(.METHOD, "pattern"` in the sources of the targets whose routes `serve`
    /// mounts, except the benchmark-only routes (`--bench-endpoints`). Registered somewhere is not
    /// served: the probe decides that.
    static func registeredOperations() throws -> Set<Operation> {
        var operations: Set<Operation> = []
        for target in ["BidService", "Audit", "CompetitorPrices"] {
            let sources = root.appendingPathComponent("Sources/\(target)")
            guard let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil) else {
                continue
            }
            for case let file as URL in files where file.pathExtension == "swift" {
                let text = try String(contentsOf: file, encoding: .utf8)
                let routes = text.matches(of: /router\.add\(\.([A-Z]+),\s*"([^"]+)"/)
                for match in routes where !match.2.hasPrefix("/bench/") {
                    operations.insert(Operation(method: String(match.1), path: String(match.2)))
                }
            }
        }
        return operations
    }
}
