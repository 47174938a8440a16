import Foundation

/// Tracing as the standard OpenTelemetry environment variables configure it. Off unless a
/// traces endpoint is set (and neither `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`).
///
/// Only OTLP over HTTP with JSON bodies is spoken: `OTEL_EXPORTER_OTLP_PROTOCOL` (or its traces
/// form) must be unset or `http/json`, so that a setting asking for protobuf or gRPC is refused
/// rather than silently ignored.
public struct TracingSettings: Sendable {
    public let exporter: OTLPExporter.Configuration
    public let serviceName: String
    public let resource: [(String, String)]
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`, as given (the server validates them).
    public let samplerName: String
    public let samplerArgument: String?
    /// Spans waiting for export at most (`OTEL_BSP_MAX_QUEUE_SIZE`); more are dropped and counted.
    public let maxQueueSize: Int
    /// `TRACEPARENT`, as given: a caller's context handed down through the environment, which the
    /// commands continue (OpenTelemetry's environment carrier; `serve` takes it per request).
    public let traceParent: String?

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// The variables every OpenTelemetry SDK reads that this server reads too, for the docs and
    /// `--help`.
    public static let variables = [
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
        "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_SCHEDULE_DELAY",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    ]

    /// Nil when tracing is off; throws for a value that cannot be used.
    public static func fromEnvironment(_ environment: [String: String]) throws(Invalid) -> TracingSettings? {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        if value("OTEL_SDK_DISABLED")?.lowercased() == "true" { return nil }
        if let exporter = value("OTEL_TRACES_EXPORTER") {
            guard exporter == "otlp" || exporter == "none" else {
                throw Invalid(description: "OTEL_TRACES_EXPORTER=\(exporter): only otlp and none are supported")
            }
            if exporter == "none" { return nil }
        }
        let endpoint: URL
        if let traces = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            guard let url = httpURL(traces) else {
                throw Invalid(description: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is not an http(s) URL: \(traces)")
            }
            endpoint = url
        } else if let base = value("OTEL_EXPORTER_OTLP_ENDPOINT") {
            // The general endpoint gets the signal's path appended, as the specification says.
            let joined = base.hasSuffix("/") ? base + "v1/traces" : base + "/v1/traces"
            guard let url = httpURL(joined) else {
                throw Invalid(description: "OTEL_EXPORTER_OTLP_ENDPOINT is not an http(s) URL: \(base)")
            }
            endpoint = url
        } else {
            return nil
        }
        for name in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
            if let protocolName = value(name), protocolName != "http/json" {
                throw Invalid(description: "\(name)=\(protocolName): this server exports OTLP as http/json only")
            }
        }
        var configuration = OTLPExporter.Configuration(endpoint: endpoint)
        configuration.headers = pairs(value("OTEL_EXPORTER_OTLP_HEADERS"))
        configuration.timeout = .milliseconds(try integer("OTEL_EXPORTER_OTLP_TIMEOUT", value, default: 10_000))
        configuration.interval = .milliseconds(try integer("OTEL_BSP_SCHEDULE_DELAY", value, default: 1_000))
        configuration.maxBatch = try integer("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", value, default: 512)
        let queue = try integer("OTEL_BSP_MAX_QUEUE_SIZE", value, default: 8_192)
        var resource = pairs(value("OTEL_RESOURCE_ATTRIBUTES")).filter { $0.0 != "service.name" }
        let serviceName =
            value("OTEL_SERVICE_NAME")
            ?? pairs(value("OTEL_RESOURCE_ATTRIBUTES")).first { $0.0 == "service.name" }?.1 ?? "bidengine"
        resource.insert(("service.name", serviceName), at: 0)
        return TracingSettings(
            exporter: configuration, serviceName: serviceName, resource: resource,
            samplerName: value("OTEL_TRACES_SAMPLER") ?? "parentbased_always_on",
            samplerArgument: value("OTEL_TRACES_SAMPLER_ARG"), maxQueueSize: queue,
            traceParent: value("TRACEPARENT"))
    }

    private static func httpURL(_ text: String) -> URL? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            url.host != nil
        else { return nil }
        return url
    }

    private static func integer(
        _ name: String, _ value: (String) -> String?, default fallback: Int
    ) throws(Invalid) -> Int {
        guard let text = value(name) else { return fallback }
        guard let number = Int(text), number > 0 else {
            throw Invalid(description: "\(name)=\(text): expected a positive whole number")
        }
        return number
    }

    /// `key1=value1,key2=value2`, values percent-decoded, as the W3C Baggage format the variables use.
    private static func pairs(_ text: String?) -> [(String, String)] {
        guard let text else { return [] }
        return text.split(separator: ",").compactMap { member in
            let parts = member.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let raw = parts[1].trimmingCharacters(in: .whitespaces)
            return key.isEmpty ? nil : (key, raw.removingPercentEncoding ?? raw)
        }
    }
}
