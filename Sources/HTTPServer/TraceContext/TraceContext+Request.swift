extension TraceContext {
    /// The context of a request with these header fields: the caller's trace when it sent one
    /// valid `traceparent` (two are as bad as a malformed one), otherwise a new trace; a new span
    /// id for this server's span either way. `random` supplies the new ids.
    static func begin(headers: HTTPHeaders, sampler: TraceSampler, random: inout RequestID) -> TraceContext {
        var parentValue: String?
        var parentCount = 0
        var state: String?
        for index in headers.all.indices {
            // Nearly every field differs from both names in length or first letter: that rules it
            // out before the byte-by-byte comparison.
            let length = headers.all[index].0.utf8.count
            guard length == 11 || length == 10,
                headers.all[index].0.utf8.first.map(ASCIICase.lowered) == UInt8(ascii: "t")
            else {
                continue
            }
            let (name, value) = headers.all[index]
            if Self.isName(name, "traceparent") {
                parentValue = value
                parentCount += 1
            } else if Self.isName(name, "tracestate") {
                // Repeated fields are one comma-separated list.
                state = state.map { "\($0),\(value)" } ?? value
            }
        }
        let spanID = random.nonZero64()
        if parentCount == 1, let parentValue, let parent = TraceParent(parentValue) {
            return TraceContext(
                traceIDHigh: parent.traceIDHigh, traceIDLow: parent.traceIDLow, spanID: spanID,
                parentSpanID: parent.parentSpanID,
                isSampled: sampler.isSampled(traceIDLow: parent.traceIDLow, parentSampled: parent.isSampled),
                traceState: state.flatMap { TraceState.isValid($0) ? $0 : nil })
        }
        return fresh(sampler: sampler, random: &random, spanID: spanID)
    }

    /// A new trace with no caller.
    static func fresh(sampler: TraceSampler, random: inout RequestID, spanID: UInt64? = nil) -> TraceContext {
        let high = random.next64()
        let low = random.nonZero64()
        return TraceContext(
            traceIDHigh: high, traceIDLow: low, spanID: spanID ?? random.nonZero64(),
            isSampled: sampler.isSampled(traceIDLow: low, parentSampled: nil))
    }

    /// `name` equals the lowercase `expected`, ignoring ASCII case: over the contiguous UTF-8 of
    /// the string, which costs a fraction of iterating two UTF-8 views side by side.
    private static func isName(_ name: String, _ expected: StaticString) -> Bool {
        var name = name
        return name.withUTF8 { ASCIICase.equals($0, lowercase: expected) }
    }
}
