import Telemetry

/// `bidengine_trace_spans_total{outcome}` for `/metrics`: spans exported, dropped because the
/// buffer was full, and lost to a failed export; plus the spans waiting now. All zero while
/// tracing is off, so that dashboards and alerts see the series either way.
enum TraceExportMetrics {
    static func exposition(_ exporter: OTLPExporter?) -> [UInt8] {
        let exported = exporter?.exported ?? 0
        let dropped = exporter?.buffer.dropped ?? 0
        let failed = exporter?.failed ?? 0
        let waiting = exporter?.buffer.count ?? 0
        return Array(
            """
            # HELP bidengine_trace_spans_total Spans by outcome: exported to the OTLP collector, dropped because the export buffer was full, failed when their export did.
            # TYPE bidengine_trace_spans_total counter
            bidengine_trace_spans_total{outcome="exported"} \(exported)
            bidengine_trace_spans_total{outcome="dropped"} \(dropped)
            bidengine_trace_spans_total{outcome="failed"} \(failed)
            # HELP bidengine_trace_spans_waiting Spans recorded and not yet exported.
            # TYPE bidengine_trace_spans_waiting gauge
            bidengine_trace_spans_waiting \(waiting)

            """.utf8)
    }
}
