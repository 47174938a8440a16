public import HTTPServer
public import Telemetry

extension BidServer {
    /// The sampler `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` name; throws for a name this
    /// server does not know or a ratio outside 0…1, so `serve` refuses to start with it.
    public static func traceSampler(for tracing: TracingSettings) throws(TracingSettings.Invalid) -> TraceSampler {
        guard let sampler = TraceSampler(name: tracing.samplerName, argument: tracing.samplerArgument) else {
            throw TracingSettings.Invalid(
                description:
                    "OTEL_TRACES_SAMPLER=\(tracing.samplerName) OTEL_TRACES_SAMPLER_ARG=\(tracing.samplerArgument ?? ""): "
                    + "expected always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off "
                    + "or parentbased_traceidratio, with a ratio from 0 to 1")
        }
        return sampler
    }
}
