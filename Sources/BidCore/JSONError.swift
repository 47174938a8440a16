/// Why a document is not JSON, and where (byte offset), in words a client can act on.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        case unexpectedEnd = "unexpected end of input"
        case unexpectedCharacter = "unexpected character"
        case expectedKey = "expected a string key"
        case invalidNumber = "invalid number"
        case invalidEscape = "invalid escape sequence"
        case unpairedSurrogate = "unpaired UTF-16 surrogate"
        case controlCharacterInString = "control character in string"
        case invalidUTF8 = "invalid UTF-8"
        case tooDeep = "nesting too deep"
        case trailingData = "unexpected data after the JSON value"
    }

    public let reason: Reason
    public let offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "\(reason.rawValue) at byte \(offset)" }
}
