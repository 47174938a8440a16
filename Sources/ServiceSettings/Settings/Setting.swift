public import Logging

/// One setting a command reads: its environment variable, its flag, what it accepts and its
/// default, with the parser that turns text into a value.
///
/// Every command reads its settings through `SettingReader` in its `validate()`, before anything
/// starts; a bad value stops the command with an error that names the setting, repeats the value
/// and says what is accepted (`SettingError`). The settings themselves are listed in one table,
/// `Settings` (Settings+Catalogue.swift).
public struct Setting<Value: Sendable>: Sendable {
    /// The environment variable, e.g. `THREADS`.
    public let name: String
    /// The command-line flag, e.g. `--threads`, when there is one.
    public let flag: String?
    /// What is accepted, in words: "a whole number from 1 to 1024, or 0 for one per core".
    public let accepts: String
    public let defaultValue: Value
    private let parser: @Sendable (String) -> Value?

    public init(
        _ name: String, flag: String? = nil, accepts: String, default defaultValue: Value,
        parse: @escaping @Sendable (String) -> Value?
    ) {
        self.name = name
        self.flag = flag
        self.accepts = accepts
        self.defaultValue = defaultValue
        self.parser = parse
    }

    /// The value `text` stands for, or the error that names this setting.
    public func parse(_ text: String, from source: String) throws(SettingError) -> Value {
        guard let value = parser(text) else {
            throw SettingError(setting: source, value: text, accepts: accepts)
        }
        return value
    }

    /// `--flag / NAME`, as errors and help name it.
    public var label: String { flag.map { "\($0) / \(name)" } ?? name }
}

// MARK: Kinds of setting

extension Setting where Value == Int {
    /// A whole number in `range`; `zero` documents what 0 means when it is allowed and special.
    public static func integer(
        _ name: String, flag: String? = nil, _ range: ClosedRange<Int>, default defaultValue: Int,
        unit: String = "", zero: String? = nil
    ) -> Setting<Int> {
        let unitText = unit.isEmpty ? "" : " (\(unit))"
        let accepts =
            zero.map {
                "a whole number from \(max(range.lowerBound, 1)) to \(range.upperBound)\(unitText), or 0 for \($0)"
            }
            ?? "a whole number from \(range.lowerBound) to \(range.upperBound)\(unitText)"
        return Setting(name, flag: flag, accepts: accepts, default: defaultValue) { text in
            guard let value = Int(text.trimmingSpaces()), range.contains(value) else { return nil }
            return value
        }
    }
}

extension Setting where Value == Bool {
    /// true/false, 1/0, on/off, yes/no, in any case; nothing else.
    public static func boolean(_ name: String, flag: String? = nil, default defaultValue: Bool) -> Setting<Bool> {
        Setting(name, flag: flag, accepts: "true, false, 1, 0, on, off, yes or no", default: defaultValue) { text in
            switch text.trimmingSpaces().lowercased() {
            case "true", "1", "on", "yes": return true
            case "false", "0", "off", "no": return false
            default: return nil
            }
        }
    }
}

extension Setting where Value == Logger.Level {
    /// swift-log's level names (any case), nothing else.
    public static func logLevel(_ name: String, default defaultValue: Logger.Level) -> Setting<Logger.Level> {
        let names = Logger.Level.allCases.map(\.rawValue)
        return Setting(name, accepts: "one of \(names.joined(separator: ", "))", default: defaultValue) { text in
            Logger.Level(rawValue: text.trimmingSpaces().lowercased())
        }
    }
}

extension Setting where Value == String {
    /// Any text that is not empty (an empty variable counts as unset).
    public static func text(_ name: String, flag: String? = nil, accepts: String, default defaultValue: String)
        -> Setting<String>
    {
        Setting(name, flag: flag, accepts: accepts, default: defaultValue) { $0.isEmpty ? nil : $0 }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> Substring {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}
