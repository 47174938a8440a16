import ArgumentParser
import ServiceSupport

/// The settings every command that opens the database reads (`LOG_LEVEL`, `CONNECT_TIMEOUT`,
/// `DATABASE_URL`), checked in `validate()` like the command's own.
struct CommonSettings {
    let connectTimeoutSeconds: Int

    static func read(_ environment: [String: String]) throws -> CommonSettings {
        let reader = SettingReader(environment: environment)
        do {
            _ = try reader.value(Settings.logLevel)
            _ = try DatabaseLocator.checkedURL(environment["DATABASE_URL"])
            return CommonSettings(connectTimeoutSeconds: try reader.value(Settings.connectTimeout))
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
