import Testing

@testable import Telemetry

/// The `OTEL_*` variables: off unless an endpoint is set; bad values refused by name.
struct TracingSettingsTests {
    @Test func offWithoutAnEndpointOrWhenDisabled() throws {
        #expect(try TracingSettings.fromEnvironment([:]) == nil)
        #expect(try TracingSettings.fromEnvironment(["OTEL_SERVICE_NAME": "x"]) == nil)
        #expect(
            try TracingSettings.fromEnvironment([
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true",
            ]) == nil)
        #expect(
            try TracingSettings.fromEnvironment([
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none",
            ]) == nil)
    }

    @Test func theGeneralEndpointGetsTheTracesPathAndTheDefaults() throws {
        let settings = try #require(
            try TracingSettings.fromEnvironment([
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/",
                "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,service.name=ignored",
                "OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%20b",
            ]))
        #expect(settings.exporter.endpoint.absoluteString == "http://collector:4318/v1/traces")
        #expect(settings.serviceName == "ignored")
        #expect(settings.resource.map { "\($0)=\($1)" } == ["service.name=ignored", "deployment.environment=prod"])
        #expect(settings.exporter.headers.map { "\($0)=\($1)" } == ["api-key=a b"])
        #expect(settings.samplerName == "parentbased_always_on")
        #expect(settings.samplerArgument == nil)
        #expect(settings.maxQueueSize == 8_192)
        #expect(settings.exporter.timeout == .seconds(10))
    }

    @Test func theTracesEndpointIsUsedAsIsAndTheServiceNameWins() throws {
        let settings = try #require(
            try TracingSettings.fromEnvironment([
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://ignored:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://collector/custom/path",
                "OTEL_SERVICE_NAME": "bids-eu", "OTEL_TRACES_SAMPLER": "traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": "0.01", "OTEL_BSP_MAX_QUEUE_SIZE": "100",
            ]))
        #expect(settings.exporter.endpoint.absoluteString == "https://collector/custom/path")
        #expect(settings.serviceName == "bids-eu")
        #expect(settings.samplerName == "traceidratio")
        #expect(settings.samplerArgument == "0.01")
        #expect(settings.maxQueueSize == 100)
    }

    @Test(arguments: [
        ["OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"],
        ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"],
        ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"],
        ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "zipkin"],
        ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_BSP_MAX_QUEUE_SIZE": "0"],
    ])
    func unusableValuesAreRefused(_ environment: [String: String]) {
        #expect(throws: TracingSettings.Invalid.self) { try TracingSettings.fromEnvironment(environment) }
    }
}
