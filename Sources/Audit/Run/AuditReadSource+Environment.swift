public import ServiceSettings

extension AuditReadSource {
    /// The settings from `DATABASE_READ_URL`, `AUDIT_SETTLE_MS` (default: `DATABASE_TIMEOUT_MS`,
    /// itself 1000 by default, plus 1000), `AUDIT_REPLICA_WAIT` (default 60 s) and
    /// `AUDIT_REPLICA_BEHIND` (`primary`, the default, or `fail`), through the settings table.
    public init(environment: [String: String]) throws(ReadSettings.Invalid) {
        let reader = SettingReader(environment: environment)
        let replica: String?
        let settle: Duration
        let waitLimit: Duration
        let whenBehind: WhenBehind
        do {
            replica = try reader.optional(Settings.databaseReadURL)
            let bidTimeout = try reader.value(Settings.databaseTimeout)
            settle = try reader.optional(Settings.auditSettle) ?? .milliseconds(bidTimeout + 1000)
            waitLimit = try reader.value(Settings.auditReplicaWait)
            whenBehind = try reader.value(Settings.auditReplicaBehind)
        } catch {
            throw ReadSettings.Invalid(description: error.description)
        }
        self.init(replicaConnectionString: replica)
        self.settle = settle
        self.replicaWaitLimit = waitLimit
        self.whenBehind = whenBehind
    }
}
