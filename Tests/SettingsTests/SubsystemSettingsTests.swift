import Audit
import BidCore
import CompetitorPrices
import Foundation
import Logging
import Maintenance
import Scheduler
import ServiceSettings
import Testing

/// The audit's, maintenance's, the poller's and the database's rows of the settings table: each
/// variable's value when set, its default when unset or empty, and the message for a bad value.
struct SubsystemSettingsTests {
    @Test func pollerVariablesGiveTheirExactValues() throws {
        let configuration = try PollerConfiguration.fromEnvironment([
            "COMPETITOR_SOURCES": "http://127.0.0.1:9000,https://x.example", "POLL_INTERVAL": "2m",
            "POLL_RATE_PER_MINUTE": "12.5", "POLL_RATE_BURST": "7", "POLL_PAGE_SIZE": "50", "POLL_MAX_PAGES": "9",
            "POLL_MAX_ATTEMPTS": "3", "POLL_BACKOFF_BASE": "250ms", "POLL_BACKOFF_MAX": "10s",
            "POLL_RETRY_AFTER_MAX": "1m", "POLL_CONNECT_TIMEOUT": "2", "POLL_READ_TIMEOUT": "3s",
            "POLL_REQUEST_TIMEOUT": "1h", "POLL_MAX_BODY_BYTES": "2048", "POLL_MAX_PRICE": "99.50",
        ])
        #expect(configuration.sources.map(\.name) == ["http://127.0.0.1:9000", "https://x.example"])
        #expect(configuration.interval == .seconds(120))
        #expect(configuration.ratePerMinute == 12.5)
        #expect(configuration.burst == 7)
        #expect(configuration.pageSize == 50)
        #expect(configuration.maxPages == 9)
        #expect(configuration.maxAttempts == 3)
        #expect(configuration.backoffBase == .milliseconds(250))
        #expect(configuration.backoffMax == .seconds(10))
        #expect(configuration.maxRetryAfter == .seconds(60))
        #expect(configuration.connectTimeout == .seconds(2))
        #expect(configuration.readTimeout == .seconds(3))
        #expect(configuration.requestTimeout == .seconds(3600))
        #expect(configuration.maxBodyBytes == 2048)
        #expect(configuration.maxPrice == (try FixedDecimal(parsing: "99.50")))
    }

    @Test func pollerVariablesUnsetEmptyOrBlankKeepTheDefaults() throws {
        let defaults = try PollerConfiguration.fromEnvironment([
            "POLL_INTERVAL": "", "POLL_RATE_BURST": "   ", "COMPETITOR_SOURCES": " ",
        ])
        #expect(defaults.sources.isEmpty)
        #expect(defaults.interval == .seconds(300))
        #expect(defaults.ratePerMinute == 40)
        #expect(defaults.burst == 4)
        #expect(defaults.pageSize == 100)
        #expect(defaults.maxPages == 500)
        #expect(defaults.maxAttempts == 4)
        #expect(defaults.backoffBase == .milliseconds(500))
        #expect(defaults.backoffMax == .seconds(30))
        #expect(defaults.maxRetryAfter == .seconds(120))
        #expect(defaults.maxBodyBytes == 5 * 1024 * 1024)
        #expect(defaults.maxPrice == FixedDecimal(1_000_000))
    }

    @Test(arguments: [
        ("POLL_RATE_BURST", "0", "POLL_RATE_BURST must be an integer from 1 to 1000, got '0'"),
        ("POLL_MAX_BODY_BYTES", "lots", "POLL_MAX_BODY_BYTES must be an integer from 1024 to 1073741824, got 'lots'"),
        (
            "POLL_BACKOFF_MAX", "1.5m",
            "POLL_BACKOFF_MAX must be a positive duration such as 300, 300s, 5m, 1h or 250ms, got '1.5m'"
        ),
        ("POLL_RATE_PER_MINUTE", "0", "POLL_RATE_PER_MINUTE must be a number of requests per minute above 0, got '0'"),
        ("POLL_MAX_PRICE", "-1", "POLL_MAX_PRICE must be a positive decimal number, got '-1'"),
        (
            "POLL_INTERVAL", "500ms",
            "POLL_INTERVAL must be a duration of at least 1s such as 300, 5m or 1h, got '500ms'"
        ),
    ])
    func aBadPollerVariableIsRefusedByName(name: String, value: String, message: String) {
        do {
            _ = try PollerConfiguration.fromEnvironment([name: value])
            Issue.record("accepted \(name)=\(value)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func retentionsGiveTheirExactPeriods() throws {
        let settings = try MaintenanceSettings(environment: [
            "BIDS_RETENTION": "400d", "COMPETITOR_PRICES_RETENTION": "13w", "AUDIT_RETENTION": "forever",
        ])
        #expect(settings.bids?.seconds == Int64(34_560_000))
        #expect(settings.competitorPrices?.seconds == Int64(7_862_400))
        #expect(settings.audit == nil)
        #expect(try MaintenanceSettings(environment: ["BIDS_RETENTION": "", "AUDIT_RETENTION": "keep"]) == .init())
    }

    @Test func aBadRetentionIsRefusedByName() {
        do {
            _ = try MaintenanceSettings(environment: ["COMPETITOR_PRICES_RETENTION": "5y"])
            Issue.record("accepted 5y")
        } catch {
            #expect(
                error.description
                    == "COMPETITOR_PRICES_RETENTION must be a whole number of hours, days or weeks such as 36h, 400d or 13w, or 'forever', got '5y'"
            )
        }
    }

    @Test func scheduleTimesGiveTheirExactValues() throws {
        let reader = SettingReader(environment: [
            "AUDIT_AT": "3:30", "AUDIT_TZ": "Europe/Berlin", "MAINTENANCE_AT": "23:05",
        ])
        #expect(try reader.value(Settings.auditAt) == WallClockTime(hour: 3, minute: 30))
        #expect(try reader.value(Settings.auditAt, flag: "04:15") == WallClockTime(hour: 4, minute: 15))
        #expect(try reader.value(Settings.auditTimeZone).identifier == "Europe/Berlin")
        #expect(try reader.value(Settings.maintenanceAt) == WallClockTime(hour: 23, minute: 5))
        let defaults = SettingReader(environment: ["AUDIT_AT": ""])
        #expect(try defaults.value(Settings.auditAt) == WallClockTime(hour: 2, minute: 0))
        #expect(try defaults.value(Settings.auditTimeZone) == TimeZone(identifier: "UTC"))
        #expect(try defaults.value(Settings.maintenanceAt) == WallClockTime(hour: 1, minute: 0))
    }

    @Test func aBadScheduleTimeIsRefusedByName() {
        let reader = SettingReader(environment: ["AUDIT_AT": "25:00", "AUDIT_TZ": "Mars/Base", "MAINTENANCE_AT": "1am"])
        #expect(throws: SettingError(setting: "AUDIT_AT", value: "25:00", accepts: "HH:MM (24-hour)")) {
            try reader.value(Settings.auditAt)
        }
        #expect(
            throws: SettingError(
                setting: "AUDIT_TZ", value: "Mars/Base", accepts: "an IANA time zone such as UTC or Europe/Berlin")
        ) { try reader.value(Settings.auditTimeZone) }
        #expect(throws: SettingError(setting: "MAINTENANCE_AT", value: "1am", accepts: "HH:MM (24-hour, UTC)")) {
            try reader.value(Settings.maintenanceAt)
        }
        #expect(
            SettingError(setting: "AUDIT_AT", value: "25:00", accepts: "HH:MM (24-hour)").naming(
                "AUDIT_AT / --audit-at"
            )
            .description == "AUDIT_AT / --audit-at must be HH:MM (24-hour), got '25:00'")
    }

    @Test func auditRuleVariablesGiveTheirExactValues() throws {
        let reader = SettingReader(environment: ["AUDIT_WINDOW": "1d12h", "AUDIT_THRESHOLD": "15%"])
        #expect(try reader.value(Settings.auditWindow).seconds == 36 * 3_600)
        #expect(try reader.value(Settings.auditWindow, flag: "90m").seconds == 90 * 60)
        #expect(try reader.value(Settings.auditThreshold) == "15%")
        #expect(try SettingReader(environment: [:]).value(Settings.auditWindow).seconds == 7 * 86_400)
        #expect(try SettingReader(environment: [:]).value(Settings.auditThreshold) == "0.20")
        do {
            _ = try reader.value(Settings.auditWindow, flag: "-1d")
            Issue.record("accepted -1d")
        } catch {
            #expect(
                error.naming(Settings.auditWindow.label).description
                    == "--window / AUDIT_WINDOW must be a length such as 7d, 36h or 1d12h (at most 3650d), got '-1d'")
        }
        #expect(
            throws: SettingError(
                setting: "AUDIT_THRESHOLD", value: "lots",
                accepts: "a fraction such as 0.20 or a percentage such as 20%, between 0 and 1000000")
        ) { try SettingReader(environment: ["AUDIT_THRESHOLD": "lots"]).value(Settings.auditThreshold) }
    }

    @Test func auditReadVariablesGiveTheirExactValuesAndMessages() throws {
        let source = try AuditReadSource(environment: [
            "DATABASE_READ_URL": "host=replica", "DATABASE_TIMEOUT_MS": "2500", "AUDIT_REPLICA_WAIT": "90",
        ])
        #expect(source.replicaConnectionString == "host=replica")
        #expect(source.settle == .milliseconds(3500))
        #expect(source.replicaWaitLimit == .seconds(90))
        #expect(source.whenBehind == .primary)
        for (name, value, message) in [
            ("AUDIT_SETTLE_MS", "soon", "AUDIT_SETTLE_MS must be milliseconds from 0 to 3600000, got 'soon'"),
            ("AUDIT_REPLICA_WAIT", "0", "AUDIT_REPLICA_WAIT must be seconds (60) or milliseconds (500ms), got '0'"),
            ("AUDIT_REPLICA_BEHIND", "replica", "AUDIT_REPLICA_BEHIND must be primary or fail, got 'replica'"),
            (
                "DATABASE_TIMEOUT_MS", "0",
                "DATABASE_TIMEOUT_MS must be a whole number from 1 to 600000 (milliseconds), got '0'"
            ),
        ] {
            do {
                _ = try AuditReadSource(environment: [name: value])
                Issue.record("accepted \(name)=\(value)")
            } catch {
                #expect(error.description == message)
            }
        }
    }

    @Test func logLevelAndConnectionStringsAreReadFromTheTable() throws {
        let reader = SettingReader(environment: [
            "LOG_LEVEL": "NOTICE", "DATABASE_READ_URL": "postgresql://reader@replica/bids", "DATABASE_DIRECT_URL": "",
        ])
        #expect(try reader.optional(Settings.logLevel) == Logger.Level.notice)
        #expect(try SettingReader(environment: ["LOG_LEVEL": ""]).optional(Settings.logLevel) == nil)
        #expect(
            try DatabaseLocator.checkedURL(Settings.databaseReadURL, from: reader) == "postgresql://reader@replica/bids"
        )
        #expect(try DatabaseLocator.checkedURL(Settings.databaseDirectURL, from: reader) == nil)
        #expect(try DatabaseLocator.checkedURL(Settings.databaseURL, from: reader) == nil)
        do {
            _ = try DatabaseLocator.checkedURL(
                Settings.databaseReadURL,
                from: SettingReader(environment: ["DATABASE_READ_URL": "host=x sslmode=sometimes"]))
            Issue.record("accepted sslmode=sometimes")
        } catch {
            #expect(
                "\(error)"
                    == "DATABASE_READ_URL must be a libpq connection URI (postgresql://user@host:5432/db) or key=value string with a valid sslmode (got 'sometimes'), got 'host='x' sslmode='sometimes''"
            )
        }
    }
}
