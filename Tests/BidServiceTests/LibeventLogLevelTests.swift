import HTTPServer
import Logging
import Observability
import Testing

/// libevent's log severities as the swift-log levels its messages are written at.
struct LibeventLogLevelTests {
    @Test func everySeverityHasItsLevel() {
        #expect(LibeventLogSeverity.debug.logLevel == .debug)
        #expect(LibeventLogSeverity.message.logLevel == .info)
        #expect(LibeventLogSeverity.warning.logLevel == .warning)
        #expect(LibeventLogSeverity.error.logLevel == .error)
    }
}
