public import HTTPServer
public import Logging

extension LibeventLogSeverity {
    /// The swift-log level a libevent message is logged at: its debug, message, warning and error
    /// levels map to debug, info, warning and error.
    public var logLevel: Logger.Level {
        switch self {
        case .debug: .debug
        case .message: .info
        case .warning: .warning
        case .error: .error
        }
    }
}
