/// A setting with a value it does not accept: names the setting, repeats the value, says what is accepted.
public struct SettingError: Error, CustomStringConvertible, Equatable {
    public let setting: String
    public let value: String
    public let accepts: String

    public init(setting: String, value: String, accepts: String) {
        self.setting = setting
        self.value = value
        self.accepts = accepts
    }

    public var description: String { "\(setting) must be \(accepts), got '\(value)'" }

    /// The same error naming the setting as `label` does, e.g. `--window / AUDIT_WINDOW` for a
    /// setting whose flag and variable are described together.
    public func naming(_ label: String) -> SettingError {
        SettingError(setting: label, value: value, accepts: accepts)
    }
}
