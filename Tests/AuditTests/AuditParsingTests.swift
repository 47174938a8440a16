import BidCore
import Foundation
import Synchronization
import Testing

@testable import Audit
@testable import TextFormats

/// Parameters and formatting of the audit, without a database.
@Suite struct AuditParsingTests {
    @Test func windows() {
        #expect(AuditWindow(parsing: "7d")?.seconds == 604_800)
        #expect(AuditWindow(parsing: "36h")?.seconds == 129_600)
        #expect(AuditWindow(parsing: "1d12h")?.seconds == 129_600)
        #expect(AuditWindow(parsing: "2w")?.seconds == 1_209_600)
        #expect(AuditWindow(parsing: "90m")?.seconds == 5_400)
        #expect(AuditWindow(parsing: "3600s")?.seconds == 3_600)
        #expect(AuditWindow(parsing: "1d12h")?.description == "1d12h")
        #expect(AuditWindow(parsing: "168h")?.description == "7d")
        #expect(AuditWindow(parsing: "90m")?.description == "1h30m")
        for bad in ["", "7", "d", "7x", "12h1d", "1d1d", "0d", "-1d", "3651d", "1.5d", "7 d", "99999999999d"] {
            #expect(AuditWindow(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func thresholds() throws {
        #expect(AuditParameters.parseThreshold("0.20")?.threshold.description == "0.20")
        #expect(AuditParameters.parseThreshold("20%")?.threshold.description == "0.20")
        #expect(AuditParameters.parseThreshold("12.5%")?.threshold.description == "0.125")
        #expect(AuditParameters.parseThreshold("0")?.threshold.description == "0")
        for bad in ["", "-0.1", "abc", "20%%", "1000001", "%"] {
            #expect(AuditParameters.parseThreshold(bad) == nil, "\(bad)")
        }
    }

    /// The count may pass the planner's estimate: the estimate is then no longer shown, and the
    /// bar stays short of full until the run ends.
    @Test func progressDropsAnEstimateTheCountHasPassed() {
        let early = AuditProgress(reviewed: 500, expected: 1000, elapsed: .seconds(1))
        #expect(early.expectedAhead == 1000)
        #expect(early.fraction == 0.5)
        let past = AuditProgress(reviewed: 1_666_666, expected: 1_641_160, elapsed: .seconds(1))
        #expect(past.expectedAhead == nil)
        #expect(past.fraction == 0.99)
        #expect(AuditProgress(reviewed: 5, expected: nil, elapsed: .seconds(1)).expectedAhead == nil)
    }

    /// After the review the reports say what the run does next instead of sitting on a full bar.
    @Test func progressReportsTheStageTheRunIsIn() {
        let reports = Mutex<[AuditProgress]>([])
        let reporter = AuditProgressReporter()
        reporter.start(expected: 10, interval: .milliseconds(1)) { progress in reports.withLock { $0.append(progress) }
        }
        defer { reporter.stop() }
        reporter.add(20)
        reporter.enter(.writingFlags)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline, !reports.withLock({ $0.contains { $0.stage == .writingFlags } }) {
            Thread.sleep(forTimeInterval: 0.001)
        }
        let writing = reports.withLock { $0.first { $0.stage == .writingFlags } }
        #expect(writing?.reviewed == 20)
        #expect(writing?.stage.rawValue == "writing flags")
        #expect(writing?.expectedAhead == nil)
    }

    @Test func timestamps() {
        let asOf = AuditParameters(asOf: AuditParameters.parseTimestamp("2026-06-15T04:00:00+02:00")!)
        #expect(asOf.asOfText == "2026-06-15T02:00:00.000000Z")
        #expect(asOf.windowStartText == "2026-06-08T02:00:00.000000Z")
        #expect(AuditTime.text(asOf.asOfMicroseconds) == "2026-06-15T02:00:00Z")
        #expect(AuditTime.text(asOf.asOfMicroseconds + 250_000) == "2026-06-15T02:00:00.250000Z")
        #expect(
            AuditParameters.parseTimestamp("2026-06-15T02:00:00.123456Z").map(AuditTime.microseconds)
                == asOf.asOfMicroseconds + 123_456)
        #expect(AuditParameters.parseTimestamp("yesterday") == nil)
        #expect(AuditParameters.parseTimestamp("2026-02-30T00:00:00Z") == nil)
    }

    @Test func formatting() throws {
        #expect(AuditFormatting.grouped(0) == "0")
        #expect(AuditFormatting.grouped(999) == "999")
        #expect(AuditFormatting.grouped(1000) == "1,000")
        #expect(AuditFormatting.grouped(10_000_000) == "10,000,000")
        #expect(AuditFormatting.signed("1.30") == "+1.30")
        #expect(AuditFormatting.signed("-2.01") == "-2.01")
        #expect(AuditFormatting.signed("0.00") == "0.00")
        #expect(AuditFormatting.percent(nil) == "n/a")
        #expect(AuditFormatting.thresholdPercent(try FixedDecimal(parsing: "0.20")) == "20%")
        #expect(AuditFormatting.thresholdPercent(try FixedDecimal(parsing: "0.125")) == "12.5%")
        #expect(AuditFormatting.money(try FixedDecimal(parsing: "0.4000")) == "0.40")
        #expect(AuditFormatting.money(try FixedDecimal(parsing: "0.1250")) == "0.125")
        #expect(AuditFormatting.money(try FixedDecimal(parsing: "3")) == "3")
        #expect(AuditHTMLReport.share(2, of: 3) == "66.67%")
        #expect(AuditHTMLReport.share(420_206, of: 10_000_000) == "4.20%")
        #expect(AuditHTMLReport.escape(#"<a href="x">&'</a>"#) == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;")
    }

    @Test func windowSlicesCoverItExactlyOnce() {
        let slices = AuditRunner.slices(from: 0, to: 604_800_000_001, count: 3)
        #expect(
            slices.map(\.start) == [
                "1970-01-01T00:00:00.000000Z", "1970-01-03T08:00:00.000000Z", "1970-01-05T16:00:00.000000Z",
            ])
        #expect(
            slices.map(\.end) == [
                "1970-01-03T08:00:00.000000Z", "1970-01-05T16:00:00.000000Z", "1970-01-08T00:00:00.000001Z",
            ])
    }

    @Test func bandsColourByTheThreshold() throws {
        let twenty = try FixedDecimal(parsing: "20")
        let colours = AuditDeviationBand.all.map { AuditSVGCharts.color(of: $0, thresholdPercent: twenty) }
        let (f, m, w) = (AuditSVGCharts.flaggedColor, AuditSVGCharts.mixedColor, AuditSVGCharts.withinColor)
        #expect(colours == [f, f, w, w, w, w, w, w, w, f, f, f, f])
        let fifteen = AuditDeviationBand.all.map {
            AuditSVGCharts.color(of: $0, thresholdPercent: try! FixedDecimal(parsing: "15"))
        }
        #expect(fifteen[2] == m && fifteen[8] == m)
    }
}
