import BidCore
import HTTPServer
public import Logging
import Postgres

#if canImport(Glibc)
    import Glibc
#endif

/// swift-log handler writing one JSON object per line to stderr:
/// `{"ts":"2026-11-25T01:02:03.456Z","level":"info","msg":"…","logger":"…", …metadata}`.
///
/// Each line goes out in a single `write(2)`, so lines from different threads never interleave.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    /// Installs the handler for the whole process, at `level` (the command's `LOG_LEVEL`); PostgreSQL
    /// notices and libevent's own log go through it as well.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        // The server's notices are for whoever debugs, never raw lines on stderr.
        let notices = Logger(label: "bidengine.postgres")
        PostgresNotices.setHandler { message in notices.debug("postgres notice", metadata: ["notice": "\(message)"]) }
        // libevent's own messages (socket warnings, allocation failures) become records of this log too.
        let libevent = Logger(label: "bidengine.libevent")
        HTTPServer.setLibeventLogHandler { severity, message in
            libevent.log(level: severity.logLevel, "libevent", metadata: ["message": "\(message)"])
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.member("ts", Self.timestamp())
        writer.member("level", event.level.rawValue)
        writer.member("msg", "\(event.message)")
        writer.member("logger", label)
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() {
            writer.member(key, "\(merged[key]!)")
        }
        writer.endObject()
        var line = writer.bytes
        line.append(UInt8(ascii: "\n"))
        line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }

    /// RFC 3339 UTC with milliseconds, without Foundation's formatters (this runs per request).
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }
}
