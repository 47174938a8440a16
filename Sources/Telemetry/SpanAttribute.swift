/// An attribute value of a span, as OTLP types it.
public enum SpanAttribute: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case bool(Bool)
}
