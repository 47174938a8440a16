import ServiceSettings
import Testing

/// `READ_MAX_LAG` and `AUDIT_REPLICA_WAIT` durations.
@Suite struct ReadSettingsTests {
    @Test func lags() {
        #expect(ReadSettings.parseLag("5") == .seconds(5))
        #expect(ReadSettings.parseLag("5s") == .seconds(5))
        #expect(ReadSettings.parseLag("500ms") == .milliseconds(500))
        #expect(ReadSettings.parseLag(" 2 ") == .seconds(2))
        for bad in ["", "0", "0ms", "-1", "1.5", "5m", "ms", "86401", "abc"] {
            #expect(ReadSettings.parseLag(bad) == nil, "\(bad)")
        }
    }
}
