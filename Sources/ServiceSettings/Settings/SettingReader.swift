/// Reads settings for one command: a flag wins over the environment variable, which wins over the
/// default; an empty variable counts as unset.
public struct SettingReader: Sendable {
    public let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// The setting's value from `flag` (the flag's text, when given), else the environment, else its default.
    public func value<Value: Sendable>(_ setting: Setting<Value>, flag: String? = nil) throws(SettingError) -> Value {
        if let flag, let name = setting.flag { return try setting.parse(flag, from: name) }
        return try optional(setting, flag: flag) ?? setting.defaultValue
    }

    /// Like `value`, but nil when neither the flag nor the variable is given.
    public func optional<Value: Sendable>(_ setting: Setting<Value>, flag: String? = nil) throws(SettingError) -> Value?
    {
        if let flag { return try setting.parse(flag, from: setting.flag ?? setting.name) }
        guard let text = environment[setting.name], !text.isEmpty else { return nil }
        return try setting.parse(text, from: setting.name)
    }
}
