import Audit
import ServiceSettings
import Testing

/// `AUDIT_SETTLE_MS`, `AUDIT_REPLICA_WAIT`, `AUDIT_REPLICA_BEHIND` and `DATABASE_READ_URL` for the audit.
@Suite struct AuditReadSourceSettingsTests {
    @Test func auditDefaultsFollowTheBidTimeout() throws {
        let defaults = try AuditReadSource(environment: [:])
        #expect(defaults.replicaConnectionString == nil)
        #expect(defaults.settle == .milliseconds(2000))
        #expect(defaults.replicaWaitLimit == .seconds(60))
        #expect(defaults.whenBehind == .primary)
        let slower = try AuditReadSource(environment: ["DATABASE_TIMEOUT_MS": "2500"])
        #expect(slower.settle == .milliseconds(3500))
    }

    @Test func auditSettings() throws {
        let source = try AuditReadSource(environment: [
            "DATABASE_READ_URL": "host=replica", "AUDIT_SETTLE_MS": "0", "AUDIT_REPLICA_WAIT": "750ms",
            "AUDIT_REPLICA_BEHIND": "FAIL",
        ])
        #expect(source.replicaConnectionString == "host=replica")
        #expect(source.settle == .zero)
        #expect(source.replicaWaitLimit == .milliseconds(750))
        #expect(source.whenBehind == .fail)
        #expect(try AuditReadSource(environment: ["DATABASE_READ_URL": ""]).replicaConnectionString == nil)
    }

    @Test func auditSettingsRefuseNonsense() {
        for (key, value) in [
            ("AUDIT_SETTLE_MS", "-1"), ("AUDIT_SETTLE_MS", "soon"), ("AUDIT_REPLICA_WAIT", "0"),
            ("AUDIT_REPLICA_BEHIND", "replica"), ("DATABASE_TIMEOUT_MS", "0"),
        ] {
            #expect(throws: ReadSettings.Invalid.self, "\(key)=\(value)") {
                try AuditReadSource(environment: [key: value])
            }
        }
    }
}
