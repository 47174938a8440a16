import Foundation

/// `--compare OLD.json`: every figure present in both reports, its ratio new ÷ old, and a flag
/// where it moved the wrong way by more than the tolerance.
enum ReportComparison {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Only the figures are read, so reports from older or newer versions still compare.
    private struct FiguresOnly: Decodable {
        let figures: [Figure]
        let machine: Machine?
        struct Machine: Decodable {
            let gitCommit: String?
            let cpuModel: String?
        }
    }

    /// Prints the comparison and returns the number of regressions.
    static func compare(oldPath: String, new figures: [Figure], tolerance: Double) throws -> Int {
        let old: FiguresOnly
        do {
            old = try JSONDecoder().decode(FiguresOnly.self, from: Data(contentsOf: URL(fileURLWithPath: oldPath)))
        } catch {
            throw Failure(description: "cannot read \(oldPath) as a benchmark report: \(error)")
        }
        let previous = Dictionary(old.figures.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        Console.line()
        Console.line(
            "Comparison with \(oldPath) (commit \(old.machine?.gitCommit ?? "unknown")), tolerance \(Format.percent(tolerance, places: 0))"
        )
        Console.line(
            "  " + Format.column("figure", 44) + Format.column("old", 12, right: true)
                + Format.column("new", 12, right: true)
                + Format.column("new/old", 10, right: true) + "  verdict")
        var regressions = 0
        for figure in figures {
            guard let before = previous[figure.name] else { continue }
            let ratio = before.value != 0 ? figure.value / before.value : (figure.value == 0 ? 1 : .infinity)
            let verdict: String
            switch figure.better {
            case .higher where ratio < 1 - tolerance, .lower where ratio > 1 + tolerance:
                verdict = "REGRESSION"
                regressions += 1
            case .higher where ratio > 1 + tolerance, .lower where ratio < 1 - tolerance:
                verdict = "improved"
            default:
                verdict = ""
            }
            Console.line(
                "  " + Format.column(figure.name, 44)
                    + Format.column(Format.decimal(before.value, places: 3), 12, right: true)
                    + Format.column(Format.decimal(figure.value, places: 3), 12, right: true)
                    + Format.column(Format.decimal(ratio, places: 3), 10, right: true) + "  " + verdict)
        }
        let missing = Set(previous.keys).subtracting(figures.map(\.name))
        if !missing.isEmpty { Console.line("  not measured this time: \(missing.sorted().joined(separator: ", "))") }
        Console.line(
            regressions == 0
                ? "  no regressions beyond the tolerance" : "  \(regressions) regression(s) beyond the tolerance")
        return regressions
    }

    /// The figures of a saved report (for comparing two files without running).
    static func figures(at path: String) throws -> [Figure] {
        do {
            return try JSONDecoder().decode(FiguresOnly.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
                .figures
        } catch {
            throw Failure(description: "cannot read \(path) as a benchmark report: \(error)")
        }
    }
}
