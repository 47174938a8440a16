/// Where one read goes when a replica is configured: the replica while it is connected and its
/// last measured lag is within the bound, the primary otherwise, with the reason.
///
/// Pure, so the rule is tested without a database; `PostgresReadRouter` feeds it what it knows.
public struct ReadRouteDecision: Sendable, Equatable {
    public enum Reason: String, Sendable, CaseIterable {
        /// The replica connection is down (or reconnecting).
        case replicaDown = "replica_down"
        /// The replica is further behind than the bound.
        case replicaLagging = "replica_lagging"
        /// No recent lag measurement (just connected, or the lag check itself is failing or slow).
        case lagUnknown = "lag_unknown"
        /// The replica answered a read with a connection error or a timeout; the read was retried.
        case replicaFailed = "replica_failed"
    }

    public enum Target: Sendable, Equatable {
        case replica
        case primary(Reason)
    }

    /// Most lag accepted on the replica (`READ_MAX_LAG`).
    public var maxLag: Duration
    /// A lag measurement older than this is not trusted.
    public var measurementValidity: Duration
    /// The last lag measured, and when.
    public private(set) var lag: Duration?
    public private(set) var measuredAt: ContinuousClock.Instant?

    public init(maxLag: Duration, measurementValidity: Duration) {
        self.maxLag = maxLag
        self.measurementValidity = measurementValidity
    }

    public mutating func lagMeasured(_ lag: Duration, at instant: ContinuousClock.Instant) {
        self.lag = lag
        measuredAt = instant
    }

    /// The connection was lost: what was measured over it says nothing about the next one.
    public mutating func replicaLost() {
        lag = nil
        measuredAt = nil
    }

    public func target(replicaConnected: Bool, now: ContinuousClock.Instant) -> Target {
        guard replicaConnected else { return .primary(.replicaDown) }
        guard let lag, let measuredAt, measuredAt.duration(to: now) <= measurementValidity else {
            return .primary(.lagUnknown)
        }
        return lag <= maxLag ? .replica : .primary(.replicaLagging)
    }
}
