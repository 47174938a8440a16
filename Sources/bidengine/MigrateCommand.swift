import ArgumentParser
import BidService
import Foundation
import Observability
import Postgres
import ServiceSettings

/// `bidengine migrate`: applies pending migrations and exits (a Kubernetes pre-install/upgrade hook).
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations and exit.",
        discussion: """
            Uses DATABASE_URL, or the embedded cluster under --state-dir. Each file runs in its own transaction, \
            recorded with its checksum in schema_migrations, under an advisory lock so concurrent migrators \
            take turns. A changed, already-applied file stops with an error.
            """)

    @OptionGroup var location: DatabaseLocationOptions

    func validate() throws {
        try CommonSettings.read(ProcessInfo.processInfo.environment).requireSession(for: "Migrating")
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        JSONLogHandler.bootstrap(level: try CommonSettings.logLevel(environment) ?? .info)
        // A signal ends the command at once, as it always did, but first leaves the embedded cluster.
        _ = SignalWaiter(signals: [SIGTERM, SIGINT], startupExit: .bySignal)
        // A reader that goes away (`| head`) must not end the command before it leaves the embedded
        // cluster: the write fails instead and the work finishes.
        signal(SIGPIPE, SIG_IGN)
        // Found before the database is touched: a missing directory fails at once.
        let directory = try DatabaseLocator.migrationsDirectory(explicit: location.migrationsDirectory)
        let database = try location.resolve(environment: environment, common: try CommonSettings.read(environment))
        defer { database.embedded?.stop() }
        let applied = try DatabaseLocator.migrate(database, migrationsDirectory: directory)
        print(applied.isEmpty ? "migrations: up to date" : "migrations: applied \(applied.joined(separator: ", "))")
    }
}
