import ArgumentParser

/// `bidengine`: one binary for the API server, migrations, pricing, the scheduler and the audit.
@main
struct BidEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bidengine",
        abstract: "Prices ad bids with the legacy rules, exactly, and records them in PostgreSQL.",
        subcommands: [
            ServeCommand.self, MigrateCommand.self, PriceCommand.self, AuditCommand.self, ScheduleCommand.self,
            PollCommand.self, MaintainCommand.self,
        ])
}
