import BidCore
import BidService
import HTTPServer

/// Timed loops over the pure hot path, with no I/O: what one bid costs the CPU before HTTP and
/// PostgreSQL.
///
/// Each benchmark calibrates its iteration count to about `targetRunSeconds`, runs once as a
/// warm-up, then `runs` times; the figure is the median run's nanoseconds per operation. A
/// separate pass counts allocations. Inputs rotate through a few realistic values read from
/// arrays, and every result feeds a checksum the optimiser cannot see through, so nothing is
/// folded away.
struct MicroBenchmarks {
    struct Check: Error, CustomStringConvertible {
        let description: String
    }

    let runs: Int
    let targetRunSeconds: Double

    /// Request bodies the benchmark sends: numbers and numeric strings, as clients send them.
    static let bodies: [String] = (0..<64).map { index in
        let cpc = ["1.50", "0.75", "2.10", "12.345", "3", "0.05", "9.99", "4.20"][index % 8]
        let roas = ["150", "120.5", "200", "80", "99.9", "300", "175", "110"][(index / 8) % 8]
        return index % 3 == 0
            ? #"{"product_id":"\#(1000 + index)","current_cpc":"\#(cpc)","target_roas":"\#(roas)"}"#
            : #"{"product_id":\#(1000 + index),"current_cpc":\#(cpc),"target_roas":\#(roas)}"#
    }

    /// A bid request's header fields as clients send them, without and with a `traceparent`.
    static let headerSets: [HTTPHeaders] = {
        let common = [
            ("Host", "bids.example"), ("User-Agent", "bidder/2.1"), ("Content-Type", "application/json"),
            ("Content-Length", "58"), ("Authorization", "Bearer k1"), ("Idempotency-Key", "order-42-bid-7"),
        ]
        return [
            HTTPHeaders(common),
            HTTPHeaders(common + [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]),
        ]
    }()

    /// A 100-bid `POST /api/bids/batch` body built from `bodies`.
    static let bulkBody: [UInt8] = Array(
        (#"{"bids":["# + (0..<100).map { bodies[$0 & 63] }.joined(separator: ",") + "]}").utf8)

    func run() throws -> [MicroResult] {
        let bodies = Self.bodies.map { Array($0.utf8) }
        try Self.checkHotPath()
        // A quota far above what the loop can take: every take is admitted, as for a key under quota.
        let quotaBucket = QuotaBucket(quota: Quota(rate: Quota.maximum, burst: Quota.maximum))
        let decimals = ["1.50", "150", "0.75", "120.5", "12.345", "99.9", "3", "0.05"].map { Array($0.utf8) }
        let operands = try zip(["1.50", "0.75", "12.345", "9.99"], ["150", "120.5", "99.9", "300"]).map {
            (try FixedDecimal(parsing: $0), try FixedDecimal(parsing: $1))
        }
        return [
            measure(
                name: "hot_path",
                summary:
                    "JSON body → PricedBid.parse (validated, priced) → response JSON into a reused JSONWriter"
            ) { count in
                var checksum = 0
                var writer = JSONWriter(capacity: 64)
                for index in 0..<count {
                    checksum &+= Self.answer(body: bodies[index & 63], bidID: Int64(index), into: &writer)
                }
                return checksum
            },
            measureBulkParse(
                name: "bulk_parse",
                summary: "BidBatchRequest.parse of a 100-bid bulk body (every item validated and priced)"
            ) { BidBatchRequest.parse(body: $0, maxItems: 1_000) },
            measureBulkParse(
                name: "bulk_parse_tree",
                summary: "the same body through the general parser (JSON tree, then PricedBid.judge per item)"
            ) { BidBatchRequest.parseWithTree(body: $0, maxItems: 1_000) },
            measure(
                name: "trace_context",
                summary: "a request's W3C trace context from its header fields, tracing off (half with a traceparent)"
            ) { count in
                var checksum = 0
                var reader = TraceContextReader(sampler: .off)
                for index in 0..<count {
                    let trace = reader.context(for: Self.headerSets[index & 1])
                    checksum &+= Int(truncatingIfNeeded: trace.traceIDLow ^ trace.spanID)
                }
                return checksum
            },
            measure(name: "decimal_parse", summary: "FixedDecimal(parsingUTF8:) of one numeric lexeme") { count in
                var checksum = 0
                for index in 0..<count {
                    checksum &+= decimals[index & 7].withUnsafeBufferPointer { bytes in
                        guard let value = try? FixedDecimal(parsingUTF8: bytes) else { return -1 }
                        return Int(truncatingIfNeeded: value.significand) &+ value.scale
                    }
                }
                return checksum
            },
            measure(
                name: "rounding",
                summary: "cpc.multiplied(by: roas, shiftedRightBy: 2, roundedTo: 2) (the pricing rule)"
            ) { count in
                var checksum = 0
                for index in 0..<count {
                    let (cpc, roas) = operands[index & 3]
                    guard let value = try? cpc.multiplied(by: roas, shiftedRightBy: 2, roundedTo: 2) else { return -1 }
                    checksum &+= Int(truncatingIfNeeded: value.significand)
                }
                return checksum
            },
            measure(
                name: "quota_take",
                summary: "QuotaBucket.take(1): a key's shared token bucket (clock read, lock, integer refill)"
            ) { count in
                var checksum = 0
                for _ in 0..<count {
                    if case .admitted(let remaining, _) = quotaBucket.take(1) { checksum &+= remaining }
                }
                return checksum
            },
        ]
    }

    /// What the server does for one valid bid between receiving the body and writing the answer
    /// (the database's id stands in as `bidID`): the byte count, for the checksum.
    @inline(never)
    static func answer(body: [UInt8], bidID: Int64, into writer: inout JSONWriter) -> Int {
        switch PricedBid.parse(body: body) {
        case .success(let bid):
            writeResponse(bidID: bidID, bid: bid, into: &writer)
            return writer.bytes.count
        case .failure:
            return -1
        }
    }

    /// `{"bid_id":N,"adjusted_cpc":X}`, built as `BidRoutes.acceptedBody` builds the 200 answer
    /// (internal to BidService, so mirrored here): the price's exact text as a raw JSON number.
    static func writeResponse(bidID: Int64, bid: PricedBid, into writer: inout JSONWriter) {
        writer.reset()
        writer.beginObject()
        writer.member(plainKey: "bid_id", bidID)
        writer.member(plainKey: "adjusted_cpc", bid.adjustedCPC)
        writer.endObject()
    }

    /// The loop measures the right thing only if every body is valid and priced as expected.
    static func checkHotPath() throws {
        for body in bodies {
            guard case .success = PricedBid.parse(body: Array(body.utf8)) else {
                throw Check(description: "benchmark body rejected: \(body)")
            }
        }
        guard case .success(let bid) = PricedBid.parse(body: Array(bodies[1].utf8)) else { return }
        var writer = JSONWriter()
        writeResponse(bidID: 7, bid: bid, into: &writer)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        guard text == #"{"bid_id":7,"adjusted_cpc":1.13}"# else {
            throw Check(description: "unexpected answer for \(bodies[1]): \(text)")
        }
    }

    // MARK: Measuring

    /// `parse` over `bulkBody`, the items it judged feeding the checksum.
    private func measureBulkParse(
        name: String, summary: String,
        _ parse: (UnsafeBufferPointer<UInt8>) -> Result<BidBatchRequest, BidBatchRejection>
    ) -> MicroResult {
        let body = Self.bulkBody
        return measure(name: name, summary: summary) { count in
            var checksum = 0
            for _ in 0..<count {
                guard case .success(let batch) = body.withUnsafeBufferPointer(parse) else { return -1 }
                checksum &+= batch.items.count
            }
            return checksum
        }
    }

    private func measure(name: String, summary: String, _ body: (Int) -> Int) -> MicroResult {
        // Warm up first (lazy metadata, caches, first allocations), then grow the count until one
        // run takes a tenth of the target, and scale to the target.
        _ = time(body, 1_000)
        var iterations = 1_000
        while true {
            let elapsed = time(body, iterations)
            if Double(elapsed) > targetRunSeconds * 1e8 || iterations >= 100_000_000 {
                iterations = max(1_000, Int(Double(iterations) * targetRunSeconds * 1e9 / Double(max(elapsed, 1))))
                break
            }
            iterations *= 4
        }
        _ = time(body, iterations)  // warm-up
        var samples: [Double] = []
        for _ in 0..<runs {
            samples.append(Double(time(body, iterations)) / Double(iterations))
        }
        samples.sort()
        let allocationIterations = min(iterations, 100_000)
        let allocations = AllocationCounter.count { blackHole(body(allocationIterations)) }
        return MicroResult(
            name: name, summary: summary, iterationsPerRun: iterations, runs: runs,
            medianNanoseconds: samples[samples.count / 2], minNanoseconds: samples.first!,
            maxNanoseconds: samples.last!,
            allocationsPerOperation: allocations.map { Double($0) / Double(allocationIterations) })
    }

    private func time(_ body: (Int) -> Int, _ iterations: Int) -> UInt64 {
        let start = MonotonicClock.now()
        blackHole(body(iterations))
        return MonotonicClock.now() - start
    }
}

/// Keeps a value alive for the optimiser without doing anything with it.
@inline(never)
func blackHole(_ value: Int) {
    if value == 0x5eed_5eed_5eed { print("") }
}
