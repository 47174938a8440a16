import Testing

@testable import BidService

/// `READ_MAX_LAG`, `AUDIT_SETTLE_MS`, `AUDIT_REPLICA_WAIT` and `AUDIT_REPLICA_BEHIND`.
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

    @Test func auditDefaultsFollowTheBidTimeout() throws {
        let defaults = try ReadSettings.auditReadSource(environment: [:])
        #expect(defaults.replicaConnectionString == nil)
        #expect(defaults.settle == .milliseconds(2000))
        #expect(defaults.replicaWaitLimit == .seconds(60))
        #expect(defaults.whenBehind == .primary)
        let slower = try ReadSettings.auditReadSource(environment: ["DATABASE_TIMEOUT_MS": "2500"])
        #expect(slower.settle == .milliseconds(3500))
    }

    @Test func auditSettings() throws {
        let source = try ReadSettings.auditReadSource(environment: [
            "DATABASE_READ_URL": "host=replica", "AUDIT_SETTLE_MS": "0", "AUDIT_REPLICA_WAIT": "750ms",
            "AUDIT_REPLICA_BEHIND": "FAIL",
        ])
        #expect(source.replicaConnectionString == "host=replica")
        #expect(source.settle == .zero)
        #expect(source.replicaWaitLimit == .milliseconds(750))
        #expect(source.whenBehind == .fail)
        #expect(try ReadSettings.auditReadSource(environment: ["DATABASE_READ_URL": ""]).replicaConnectionString == nil)
    }

    @Test func auditSettingsRefuseNonsense() {
        for (key, value) in [
            ("AUDIT_SETTLE_MS", "-1"), ("AUDIT_SETTLE_MS", "soon"), ("AUDIT_REPLICA_WAIT", "0"),
            ("AUDIT_REPLICA_BEHIND", "replica"), ("DATABASE_TIMEOUT_MS", "0"),
        ] {
            #expect(throws: ReadSettings.Invalid.self, "\(key)=\(value)") {
                try ReadSettings.auditReadSource(environment: [key: value])
            }
        }
    }
}
