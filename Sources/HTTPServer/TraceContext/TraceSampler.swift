/// Which traces are recorded, as OpenTelemetry's `OTEL_TRACES_SAMPLER` names the choices.
///
/// `traceidratio` keeps a trace when its id's low 63 bits fall below the ratio of 2⁶³: the same
/// trace id gets the same decision on every replica. The `parentbased_*` forms follow a caller's
/// `sampled` flag when there is a caller and apply the root rule otherwise. `off` is the state
/// when no exporter is configured: nothing is ever sampled.
public struct TraceSampler: Sendable, Equatable {
    public enum Rule: Sendable, Equatable {
        case alwaysOn
        case alwaysOff
        /// Between 0 and 1.
        case traceIDRatio(Double)
    }

    public let root: Rule
    public let parentBased: Bool

    public init(root: Rule, parentBased: Bool) {
        self.root = root
        self.parentBased = parentBased
    }

    public static let off = TraceSampler(root: .alwaysOff, parentBased: false)

    /// OpenTelemetry's default: follow the caller, record every new trace.
    public static let parentBasedAlwaysOn = TraceSampler(root: .alwaysOn, parentBased: true)

    /// From `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`; nil for a name this server does
    /// not know or a ratio outside 0…1. A missing ratio means 1, as the specification says.
    public init?(name: String, argument: String?) {
        let ratio: Double?
        if let argument, !argument.isEmpty {
            guard let value = Double(argument), (0...1).contains(value) else { return nil }
            ratio = value
        } else {
            ratio = nil
        }
        switch name {
        case "always_on": self.init(root: .alwaysOn, parentBased: false)
        case "always_off": self.init(root: .alwaysOff, parentBased: false)
        case "traceidratio": self.init(root: .traceIDRatio(ratio ?? 1), parentBased: false)
        case "parentbased_always_on": self.init(root: .alwaysOn, parentBased: true)
        case "parentbased_always_off": self.init(root: .alwaysOff, parentBased: true)
        case "parentbased_traceidratio": self.init(root: .traceIDRatio(ratio ?? 1), parentBased: true)
        default: return nil
        }
    }

    /// Whether to record a trace with this low half of its id, given the caller's `sampled` flag
    /// (nil when the trace starts here).
    public func isSampled(traceIDLow: UInt64, parentSampled: Bool?) -> Bool {
        if parentBased, let parentSampled { return parentSampled }
        switch root {
        case .alwaysOn: return true
        case .alwaysOff: return false
        case .traceIDRatio(let ratio):
            if ratio >= 1 { return true }
            let bound = UInt64(ratio * 0x1p63)
            return traceIDLow & 0x7FFF_FFFF_FFFF_FFFF < bound
        }
    }
}
