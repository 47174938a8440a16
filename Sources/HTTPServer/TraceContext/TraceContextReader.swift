/// What the server does with every request's header fields to find its trace context, as a value
/// of its own so that the benchmarks can time it: the same code, with its own pool of random bits.
public struct TraceContextReader {
    private var random = RequestID()
    public let sampler: TraceSampler

    public init(sampler: TraceSampler) {
        self.sampler = sampler
    }

    public mutating func context(for headers: HTTPHeaders) -> TraceContext {
        TraceContext.begin(headers: headers, sampler: sampler, random: &random)
    }
}
