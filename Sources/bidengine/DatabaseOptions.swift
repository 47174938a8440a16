import ArgumentParser
import ServiceSettings

/// Where the database is (`DATABASE_URL` or the embedded cluster) and whether to migrate it
/// first: the database flags of every command that runs against a migrated schema.
struct DatabaseOptions: ParsableArguments {
    @OptionGroup var location: DatabaseLocationOptions
    @Flag(name: .customLong("no-migrate"), help: "Do not apply pending migrations first.")
    var noMigrate = false

    /// The database, migrated unless `--no-migrate`; stop `embedded` when done. Every connection
    /// to it gives up after `CONNECT_TIMEOUT` unless `DATABASE_URL` sets `connect_timeout`. Behind
    /// a transaction pooler the migrations need `DATABASE_DIRECT_URL`.
    func open(environment: [String: String], common: CommonSettings) throws -> DatabaseLocator.Resolved {
        let database = try location.resolve(environment: environment, common: common)
        if !noMigrate {
            do {
                let directory = try DatabaseLocator.migrationsDirectory(explicit: location.migrationsDirectory)
                try DatabaseLocator.migrate(database, migrationsDirectory: directory)
            } catch {
                database.embedded?.stop()
                throw error
            }
        }
        return database
    }
}
