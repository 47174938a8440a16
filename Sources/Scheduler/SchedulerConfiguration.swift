/// How `Scheduler` finds its peers and paces itself.
public struct SchedulerConfiguration: Sendable {
    public var connectionString: String
    /// The advisory lock that elects the active scheduler; replicas of one deployment share it.
    /// Default: "bidsched" in ASCII.
    public var lockKey: Int64 = 0x6269_6473_6368_6564
    /// How often a standby tries to take the lock.
    public var standbyPollInterval: Duration = .seconds(5)
    /// How often the active scheduler checks its lock connection while idle; a dead connection
    /// means the lock is gone (PostgreSQL released it), so it stops running jobs.
    public var heartbeatInterval: Duration = .seconds(15)
    /// Waits between attempts to reach the database, doubling up to the maximum.
    public var reconnectInitialDelay: Duration = .seconds(1)
    public var reconnectMaximumDelay: Duration = .seconds(30)
    /// Delays before retrying a failed run (same scheduled instant); a retry that would fall after
    /// the job's next regular instant is dropped in favour of that run.
    public var retryDelays: [Duration] = [.seconds(60), .seconds(300), .seconds(900)]

    public init(connectionString: String) {
        self.connectionString = connectionString
    }

    /// `duration` as seconds for `Date` arithmetic.
    static func interval(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
