import ServiceSettings

/// A poller setting that cannot be used, naming the variable (or flag) so the fix is obvious.
public enum PollerConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidSource(String, String)
    case invalidValue(key: String, value: String, expected: String)
    case noSources

    public var description: String {
        switch self {
        case .invalidSource(let url, let why): return "invalid competitor source '\(url)': \(why)"
        case .invalidValue(let key, let value, let expected): return "\(key) must be \(expected), got '\(value)'"
        case .noSources:
            return "no competitor sources: set COMPETITOR_SOURCES (comma-separated base URLs) or pass --source"
        }
    }

    /// A value the settings table refused, named as the table names it.
    init(_ error: SettingError) {
        self = .invalidValue(key: error.setting, value: error.value, expected: error.accepts)
    }
}
