public import HTTPServer
public import Logging

extension TraceContext {
    /// `trace_id` and `span_id` for a log line written for a request, so that logs and traces
    /// join on the same ids.
    public var logMetadata: Logger.Metadata {
        ["trace_id": "\(traceIDHex)", "span_id": "\(spanIDHex)"]
    }
}

extension Logger {
    /// This logger with `trace_id` and `span_id` of `trace`: for the lines written for one request.
    public func tracing(_ trace: TraceContext) -> Logger {
        var logger = self
        for (key, value) in trace.logMetadata { logger[metadataKey: key] = value }
        return logger
    }
}
