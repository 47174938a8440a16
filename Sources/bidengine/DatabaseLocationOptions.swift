import ArgumentParser
import Foundation
import ServiceSettings

/// `--state-dir` and `--migrations-dir`: where the embedded database lives and where the
/// migrations are, for every command that opens the database.
struct DatabaseLocationOptions: ParsableArguments {
    @Option(
        name: .customLong("state-dir"),
        parsing: .unconditional,
        help: "Where the embedded database lives (env BIDENGINE_STATE_DIR; default .bidengine).")
    var stateDirectory: String?
    @Option(
        name: .customLong("migrations-dir"),
        parsing: .unconditional,
        help: "Directory of NNNN_name.sql migrations (env BIDENGINE_MIGRATIONS_DIR).")
    var migrationsDirectory: String?

    func validate() throws {
        _ = try resolvedStateDirectory(ProcessInfo.processInfo.environment)
    }

    /// `--state-dir`, else `BIDENGINE_STATE_DIR`, else `.bidengine` (`Settings.stateDirectory`):
    /// an empty variable counts as unset, and an empty flag is refused, so the cluster can never
    /// land in `/postgres`.
    func resolvedStateDirectory(_ environment: [String: String]) throws -> String {
        do {
            return try SettingReader(environment: environment).value(Settings.stateDirectory, flag: stateDirectory)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// `DATABASE_URL`, or the embedded cluster under the state directory, started here (stop
    /// `embedded` when done), with the pooler and the direct connection `common` names. Every
    /// connection gives up after `CONNECT_TIMEOUT` unless `DATABASE_URL` sets `connect_timeout`.
    func resolve(environment: [String: String], common: CommonSettings) throws -> DatabaseLocator.Resolved {
        try DatabaseLocator.resolve(
            databaseURL: try SettingReader(environment: environment).optional(Settings.databaseURL),
            stateDirectory: try resolvedStateDirectory(environment),
            connectTimeoutSeconds: common.connectTimeoutSeconds, pooler: common.pooler, directURL: common.directURL)
    }
}
