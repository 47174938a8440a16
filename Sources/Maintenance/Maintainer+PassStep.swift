import Telemetry

extension Maintainer.Pass {
    /// Runs one step of the pass in a child span of `trace` that says what the step did, also
    /// when it failed part way.
    mutating func step(_ name: String, in trace: TraceSpan, _ body: (inout Self) throws -> Void) throws {
        let before = actions.count
        var span = trace.child(name)
        var failure: (any Error)?
        do {
            try body(&self)
        } catch {
            failure = error
        }
        if span.isRecording {
            for (key, value) in MaintenanceSpans.attributes(of: actions[before...]) { span.set(key, value) }
        }
        span.end(error: failure.map { "\($0)" })
        if let failure { throw failure }
    }
}
