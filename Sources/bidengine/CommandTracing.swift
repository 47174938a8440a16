import ArgumentParser
import BidService
import HTTPServer
import Logging
import Telemetry

/// Tracing for the commands that do blocking work (`audit`, `maintain`, `poll`, `schedule`):
/// the `OTEL_*` settings that `serve` reads, off unless an endpoint is set, spans exported from
/// a thread of its own out of a bounded buffer. A caller's trace is continued from
/// `TRACEPARENT` in the environment, as a traced program starting a command hands it down.
struct CommandTracing {
    let tracer: Tracer
    /// Nil while tracing is off.
    let exporter: OTLPExporter?

    static let off = CommandTracing(tracer: .off, exporter: nil)

    /// The settings, or nil when tracing is off; a value that cannot be used is a usage error
    /// (exit 64), as for `serve`.
    static func settings(_ environment: [String: String]) throws -> (TracingSettings, TraceSampler)? {
        do {
            guard let settings = try TracingSettings.fromEnvironment(environment) else { return nil }
            return (settings, try BidServer.traceSampler(for: settings))
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Starts the exporter's thread when tracing is configured.
    static func start(_ environment: [String: String], logger: Logger) throws -> CommandTracing {
        guard let (settings, sampler) = try settings(environment) else { return .off }
        let buffer = SpanBuffer(capacity: settings.maxQueueSize)
        let exporter = OTLPExporter(
            configuration: settings.exporter, buffer: buffer, encoder: OTLPJSONEncoder(resource: settings.resource))
        exporter.start()
        let parent = settings.traceParent.flatMap { TraceParent($0) }.map {
            Tracer.Parent(
                traceIDHigh: $0.traceIDHigh, traceIDLow: $0.traceIDLow, spanID: $0.parentSpanID, isSampled: $0.isSampled
            )
        }
        logger.info(
            "tracing on",
            metadata: [
                "endpoint": "\(settings.exporter.endpoint.absoluteString)", "sampler": "\(settings.samplerName)",
                "sampler_arg": "\(settings.samplerArgument ?? "")", "service": "\(settings.serviceName)",
                "traceparent": "\(parent == nil ? "none" : "continued")",
            ])
        let tracer = Tracer(buffer: buffer, parent: parent) { traceIDLow, parentSampled in
            sampler.isSampled(traceIDLow: traceIDLow, parentSampled: parentSampled)
        }
        return CommandTracing(tracer: tracer, exporter: exporter)
    }

    /// Exports what is left, waiting at most `deadline`, and logs what became of the spans: a
    /// one-shot command must not exit with its trace still in the buffer.
    func finish(logger: Logger, deadline: Duration = .seconds(5)) {
        guard let exporter else { return }
        exporter.shutdown(deadline: deadline)
        let metadata: Logger.Metadata = [
            "exported": "\(exporter.exported)", "dropped": "\(exporter.buffer.dropped)", "failed": "\(exporter.failed)",
            "waiting": "\(exporter.buffer.count)",
        ]
        if exporter.buffer.dropped + exporter.failed + exporter.buffer.count > 0 {
            logger.warning("spans lost: the buffer was full or the collector did not take them", metadata: metadata)
        } else {
            logger.info("spans exported", metadata: metadata)
        }
    }
}
