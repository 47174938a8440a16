public import Foundation
public import Logging
public import Metrics
import Postgres
public import Scheduler
public import Telemetry

/// Maintenance as a scheduled job: daily, and at once whenever a scheduler becomes active (a pass
/// is cheap when there is nothing to do, and partitions ahead must never run out).
public struct MaintenanceJob: ScheduledJob {
    public let name = "maintenance"
    public let schedule: any JobSchedule
    let connectionString: String
    let maintainer: Maintainer

    public init(
        connectionString: String, schedule: any JobSchedule, settings: MaintenanceSettings,
        logger: Logger = Logger(label: "bidengine.maintenance"), metricsFactory: (any MetricsFactory)? = nil,
        tracer: Tracer = .off
    ) {
        self.connectionString = connectionString
        self.schedule = schedule
        var maintainer = Maintainer(settings: settings, logger: logger, metricsFactory: metricsFactory)
        // As `bidengine maintain` off a terminal: a line per step, and every 5 s within a long one.
        maintainer.progress = MaintenanceProgress.logging(to: logger)
        maintainer.progressInterval = .seconds(5)
        maintainer.tracer = tracer
        self.maintainer = maintainer
    }

    public func needsCatchUp(scheduledAt: Date) throws -> Bool { true }

    public func run(_ context: JobContext) throws -> Logger.Metadata {
        let session = try PostgresSession(connectionString: connectionString)
        defer { session.close() }
        let report = try maintainer.run(session: session, dryRun: false, cancellation: context.cancellation)
        var metadata: Logger.Metadata = ["skipped": "\(report.skipped)"]
        for kind in ["created", "moved", "detached", "dropped", "deleted"] {
            let matching = report.actions.filter { $0.kind.rawValue == kind }
            metadata[kind] = "\(matching.count)"
        }
        return metadata
    }
}
