import ArgumentParser
import Logging
import Postgres
import ServiceSettings

/// The settings every command that opens the database reads (`LOG_LEVEL`, `CONNECT_TIMEOUT`,
/// `DATABASE_URL`, `DATABASE_POOLER`, `DATABASE_DIRECT_URL`), checked in `validate()` like the
/// command's own.
struct CommonSettings {
    let connectTimeoutSeconds: Int
    let pooler: ConnectionPooler
    let directURL: String?
    /// `DATABASE_URL` is set (otherwise the embedded cluster, which no pooler fronts).
    let hasDatabaseURL: Bool

    static func read(_ environment: [String: String]) throws -> CommonSettings {
        let reader = SettingReader(environment: environment)
        do {
            _ = try reader.value(Settings.logLevel)
            let databaseURL = try DatabaseLocator.checkedURL(Settings.databaseURL, from: reader)
            return CommonSettings(
                connectTimeoutSeconds: try reader.value(Settings.connectTimeout),
                pooler: try reader.value(Settings.databasePooler),
                directURL: try DatabaseLocator.checkedURL(Settings.databaseDirectURL, from: reader),
                hasDatabaseURL: databaseURL != nil)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// `LOG_LEVEL`, nil when unset: each command has its own default.
    static func logLevel(_ environment: [String: String]) throws -> Logger.Level? {
        try SettingReader(environment: environment).optional(Settings.logLevel)
    }

    /// Refuses, before anything starts, work that needs a session when `DATABASE_URL` is a
    /// transaction pooler and no `DATABASE_DIRECT_URL` is given.
    func requireSession(for work: String) throws {
        guard pooler.keepsSessions || directURL != nil || !hasDatabaseURL else {
            throw ValidationError("\(DatabaseLocator.SessionRequired(work: work))")
        }
    }
}
