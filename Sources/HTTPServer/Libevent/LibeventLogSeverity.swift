/// How serious a message from libevent is, mapped from its `EVENT_LOG_*` levels so that callers
/// never see a C constant.
public enum LibeventLogSeverity: Sendable {
    case debug
    case message
    case warning
    case error

    init(libeventSeverity: Int32) {
        switch libeventSeverity {
        case 0: self = .debug
        case 1: self = .message
        case 2: self = .warning
        default: self = .error
        }
    }
}
