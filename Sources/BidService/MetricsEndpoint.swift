import HTTPServer
import JSONRoutes
import Observability
public import Telemetry

/// `GET /metrics` (Prometheus text) and `GET /healthz` for processes that do not serve the API,
/// such as `bidengine schedule`: its job runs, durations, last successes and leadership would
/// otherwise be recorded and never seen. One event-loop thread; scrapes never touch the database.
public final class MetricsEndpoint: Sendable {
    private let server: HTTPServer

    /// Installs the Prometheus metrics backend for the whole process, so create this before
    /// anything that makes swift-metrics handles (the scheduler and its jobs read
    /// `MetricsSystem.factory` when they are built). With `traceExporter`, the spans' outcomes
    /// (`bidengine_trace_spans_total`) follow the registry's metrics, as on the server's `/metrics`.
    public init(host: String, port: Int, traceExporter: OTLPExporter? = nil) {
        _ = PrometheusBackend.registry
        var configuration = HTTPServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.threads = 1
        server = HTTPServer(configuration: configuration) { _ in
            var router = Router()
            router.add(.GET, "/metrics") { _, responder in
                responder.respond(
                    PrometheusBackend.exposition(
                        PrometheusBackend.render() + TraceExportMetrics.exposition(traceExporter)))
            }
            router.add(.GET, "/healthz", HealthRoutes.alive)
            return router
        }
    }

    /// Binds and starts serving; the real port (useful with port 0).
    public func start() throws -> Int {
        try server.start()
        return server.boundPort
    }

    public func shutdown() {
        server.shutdown(deadline: .seconds(1))
    }
}
