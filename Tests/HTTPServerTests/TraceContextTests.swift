import HTTPTestSupport
import Synchronization
import Testing

@testable import HTTPServer

/// W3C Trace Context: `traceparent` parsed strictly, `tracestate` carried when valid, a new trace
/// otherwise, and the sampler's decision.
struct TraceContextTests {
    static let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func aValidTraceparentIsReadField() throws {
        let parent = try #require(TraceParent(Self.valid))
        #expect(parent.traceIDHigh == 0x4bf9_2f35_77b3_4da6)
        #expect(parent.traceIDLow == 0xa3ce_929d_0e0e_4736)
        #expect(parent.parentSpanID == 0x00f0_67aa_0ba9_02b7)
        #expect(parent.isSampled)
        #expect(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")?.isSampled == false)
    }

    @Test(arguments: [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",  // short
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // version 00 is exactly 55
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // uppercase
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // all-zero parent id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // forbidden version
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // not hex
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // wrong separator
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",  // flags not hex
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  // later version, no dash after flags
    ])
    func malformedTraceparentsAreRefused(_ value: String) {
        #expect(TraceParent(value) == nil)
    }

    @Test func aLaterVersionIsReadByItsFirstFourFields() throws {
        let parent = try #require(TraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-follows"))
        #expect(parent.parentSpanID == 0x00f0_67aa_0ba9_02b7)
        #expect(TraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") != nil)
    }

    @Test func theCallersTraceIsContinuedWithANewSpanAndItsState() {
        var random = RequestID()
        let trace = TraceContext.begin(
            headers: HTTPHeaders([
                ("TraceParent", Self.valid), ("tracestate", "congo=t61rcWkgMzE"),
                ("tracestate", "rojo=00f067aa0ba902b7"),
            ]),
            sampler: .parentBasedAlwaysOn, random: &random)
        // pragma: allowlist nextline secret (W3C example trace id)
        #expect(trace.traceIDHex == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(trace.parentSpanID == 0x00f0_67aa_0ba9_02b7)
        #expect(trace.spanID != 0 && trace.spanID != trace.parentSpanID)
        #expect(trace.isSampled)
        #expect(trace.traceState == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
        #expect(trace.spanIDHex.utf8.count == 16)
    }

    @Test func aMalformedOrRepeatedTraceparentStartsANewTraceAndDropsTheState() {
        var random = RequestID()
        for headers in [
            [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"), ("tracestate", "a=b")],
            [("traceparent", Self.valid), ("traceparent", Self.valid), ("tracestate", "a=b")],
            [("tracestate", "a=b")],
        ] {
            let trace = TraceContext.begin(
                headers: HTTPHeaders(headers), sampler: .parentBasedAlwaysOn, random: &random)
            // pragma: allowlist nextline secret (W3C example trace id)
            #expect(trace.traceIDHex != "4bf92f3577b34da6a3ce929d0e0e4736")
            #expect(trace.traceIDHigh != 0 || trace.traceIDLow != 0)
            #expect(trace.traceIDHex.utf8.count == 32)
            #expect(trace.parentSpanID == 0)
            #expect(trace.traceState == nil)
            #expect(trace.isSampled)
        }
    }

    @Test func anInvalidTracestateIsDroppedAndTheTraceKept() {
        var random = RequestID()
        for state in ["UPPER=x", "a=b,a=c", "a=", "a=\u{E9}", "a=b=c", "t@sys_toolongsystemid=1"]
            + [(0...32).map { "k\($0)=v" }.joined(separator: ",")]
        {
            let trace = TraceContext.begin(
                headers: HTTPHeaders([("traceparent", Self.valid), ("tracestate", state)]), sampler: .off,
                random: &random)
            // pragma: allowlist nextline secret (W3C example trace id)
            #expect(trace.traceIDHex == "4bf92f3577b34da6a3ce929d0e0e4736")
            #expect(trace.traceState == nil, "\(state)")
        }
        for state in ["a=b, ,c@d=e f", "tenant@vendor=x", (0..<32).map { "k\($0)=v" }.joined(separator: ",")] {
            #expect(TraceState.isValid(state), "\(state)")
        }
    }

    @Test func samplersDecideAsOpenTelemetryNamesThem() throws {
        #expect(TraceSampler.off.isSampled(traceIDLow: 1, parentSampled: true) == false)
        let parentBased = try #require(TraceSampler(name: "parentbased_always_off", argument: nil))
        #expect(parentBased.isSampled(traceIDLow: 1, parentSampled: true))
        #expect(parentBased.isSampled(traceIDLow: 1, parentSampled: nil) == false)
        let ratio = try #require(TraceSampler(name: "traceidratio", argument: "0.25"))
        #expect(ratio.isSampled(traceIDLow: 0x1FFF_FFFF_FFFF_FFFF, parentSampled: false))
        #expect(ratio.isSampled(traceIDLow: 0x2000_0000_0000_0000, parentSampled: false) == false)
        #expect(ratio.isSampled(traceIDLow: 0x9FFF_FFFF_FFFF_FFFF, parentSampled: true))
        #expect(TraceSampler(name: "traceidratio", argument: "1.5") == nil)
        #expect(TraceSampler(name: "jaeger_remote", argument: nil) == nil)
        #expect(TraceSampler(name: "parentbased_traceidratio", argument: nil)?.root == .traceIDRatio(1))
    }

    /// Over a real socket: the handler sees the caller's trace, the exchange observer (access log)
    /// the same ids.
    @Test func theHandlerAndTheObserverSeeTheSameTrace() throws {
        let seen = Mutex<[TraceContext]>([])
        let configuration = TestServer.configuration { configuration in
            configuration.traceSampler = .parentBasedAlwaysOn
            configuration.exchangeObserver = { exchange in seen.withLock { $0.append(exchange.trace) } }
        }
        try TestServer.with(
            configuration,
            routes: { _ in
                var router = Router()
                router.add(.GET, "/trace") { request, responder in
                    responder.respond(
                        status: 200, body: Array("\(request.trace.traceIDHex) \(request.trace.spanIDHex)".utf8))
                }
                return router
            }
        ) { server in
            let client = try TestHTTPClient(port: server.boundPort)
            let response = try client.request("GET", "/trace", headers: [("traceparent", Self.valid)])
            #expect(response.text.hasPrefix("4bf92f3577b34da6a3ce929d0e0e4736 "))
            let fresh = try client.request("GET", "/trace")
            #expect(!fresh.text.hasPrefix("4bf92f3577b34da6a3ce929d0e0e4736"))
            let observed = seen.withLock { $0 }
            #expect(observed.count == 2)
            #expect(observed.first.map { "\($0.traceIDHex) \($0.spanIDHex)" } == response.text)
            #expect(observed.last.map { "\($0.traceIDHex) \($0.spanIDHex)" } == fresh.text)
        }
    }
}
