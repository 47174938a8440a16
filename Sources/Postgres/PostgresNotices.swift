internal import CLibpq
internal import Glibc
internal import Synchronization

/// Where the server's notices (`NOTICE: relation "schema_migrations" already exists, skipping`)
/// go, for every connection this module opens.
///
/// libpq prints them on stderr by default, which garbles the output of command-line runs and
/// bypasses the JSON log. Process-wide, like libevent's log: the application installs one handler
/// (the JSON log at debug level); until it does, notices are written to fd 2 as libpq would.
public final class PostgresNotices: Sendable {
    public typealias Handler = @Sendable (_ message: String) -> Void

    static let shared = PostgresNotices()

    private let handler = Mutex<Handler?>(nil)

    /// Routes notices to `handler`; nil restores the default (fd 2).
    public static func setHandler(_ handler: Handler?) {
        shared.handler.withLock { $0 = handler }
    }

    /// Sends `connection`'s notices through the shared handler.
    static func install(on connection: OpaquePointer) {
        _ = PQsetNoticeProcessor(
            connection,
            { _, message in
                PostgresNotices.shared.emit(message.map { String(cString: $0) } ?? "")
            }, nil)
    }

    private func emit(_ message: String) {
        var text = message
        while text.last == "\n" { text.removeLast() }
        if let current = handler.withLock({ $0 }) {
            current(text)
        } else {
            let line = Array((text + "\n").utf8)
            _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        }
    }
}
