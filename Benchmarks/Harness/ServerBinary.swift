import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Finds the `bidengine` binary to benchmark: `--server-binary`, else the one next to this
/// executable — rebuilt first when this executable sits in a SwiftPM build directory, because
/// `swift run Benchmarks` builds only this product and a stale server would be measured silently.
enum ServerBinary {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The path, and a note for the report when something is not as it should be.
    static func resolve(explicit: String?, build: Bool) throws(Failure) -> (path: String, note: String?) {
        if let explicit {
            guard access(explicit, X_OK) == 0 else {
                throw Failure(description: "--server-binary \(explicit) is not an executable file")
            }
            return (explicit, nil)
        }
        let own =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let directory = (own as NSString).deletingLastPathComponent
        let candidate = directory + "/bidengine"
        var note: String?
        if build, let layout = buildLayout(directory) {
            Console.progress("building bidengine (\(layout.configuration)) so that the server matches the sources…")
            let command = [
                "build", "-c", layout.configuration, "--package-path", layout.package, "--scratch-path", layout.scratch,
                "--product", "bidengine",
            ]
            if let swift = Subprocess.which("swift"),
                let (exit, output) = try? Subprocess.capture(swift, command, timeout: 1800)
            {
                if !exit.succeeded {
                    note =
                        "`swift \(command.joined(separator: " "))` failed; benchmarked the existing bidengine binary, which may not match the sources: "
                        + (output.split(separator: "\n").last { $0.contains("error") }.map(String.init)
                            ?? "see the build output")
                }
            } else {
                note =
                    "could not run `swift build` for bidengine; benchmarked the existing binary, which may not match the sources"
            }
        }
        guard access(candidate, X_OK) == 0 else {
            throw Failure(
                description: """
                    no bidengine binary next to this executable (\(candidate)); build it in the same \
                    configuration first, e.g. `swift build -c release --product bidengine`, or pass --server-binary
                    """)
        }
        return (candidate, note)
    }

    /// `<package>/<scratch>/<triple>/<configuration>/Benchmarks` → its parts, when it looks like that.
    private static func buildLayout(_ directory: String) -> (package: String, scratch: String, configuration: String)? {
        let url = URL(fileURLWithPath: directory)
        let configuration = url.lastPathComponent
        let scratch = url.deletingLastPathComponent().deletingLastPathComponent()
        let package = scratch.deletingLastPathComponent()
        guard ["release", "debug"].contains(configuration), scratch.lastPathComponent.hasPrefix(".build"),
            FileManager.default.fileExists(atPath: package.path + "/Package.swift")
        else { return nil }
        return (package.path, scratch.path, configuration)
    }
}
