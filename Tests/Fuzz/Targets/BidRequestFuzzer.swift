import BidCore

/// `bid-request`: the body of `POST /api/bid` as a client sends it.
///
/// Properties: `BidRequest.parse(body:)` never traps; its fast path (`FastBidParser`) gives the
/// general JSON parser's answer on every input; it rejects as malformed exactly what
/// `JSONParser` rejects; an accepted bid satisfies the legacy rules and its price is the exact
/// `round(cpc × roas / 100, 2)`; rejections carry the legacy messages in legacy order; and every
/// document that `JSONWriter` can express survives writer → parser unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func bidRequestFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = UnsafeBufferPointer(start: data, count: size)
    let result = BidRequest.parse(body: body)
    fuzzRequire(result == BidRequest.parse(body: Array(body)), "the two parse overloads disagree")
    // The fast path (flat ASCII bodies, no tree) and the general JSON parser agree on every input.
    let general = BidRequest.parseWithTree(body: body)
    fuzzRequire(result == general, "fast parser gave \(result), the general parser \(general)")
    if let fast = FastBidParser.parse(body) {
        fuzzRequire(fast == general, "FastBidParser gave \(fast), the general parser \(general)")
    }
    let document = try? JSONParser.parse(body)

    switch result {
    case .failure(.malformedJSON(let reason)):
        fuzzRequire(document == nil, "malformed (\(reason)) but JSONParser accepts it")
    case .failure(.notAnObject):
        fuzzRequire(document != nil, "not an object, but not JSON either")
        if case .object? = document { fuzzRequire(false, "an object rejected as not an object") }
    case .failure(.invalid(let messages)):
        BidRequestFuzzer.checkRejection(messages)
    case .success(let bid):
        BidRequestFuzzer.checkAccepted(bid, document: document)
    }
    if let document { BidRequestFuzzer.checkWriterRoundTrip(document) }
    return 0
}

enum BidRequestFuzzer {
    static let legacyMessages = LegacyPriceRules.Violation.allCases.map(\.rawValue)
    static let pricingMessages = [
        LegacyPriceRules.PricingError.targetROASNotPositive, .currentCPCNegative, .adjustedCPCOutOfRange,
    ].map(\.message)

    static func checkRejection(_ messages: [String]) {
        fuzzRequire(!messages.isEmpty, "rejected without a message")
        if messages.count == 1, pricingMessages.contains(messages[0]) { return }
        let positions = messages.map { legacyMessages.firstIndex(of: $0) }
        fuzzRequire(!positions.contains(nil), "unknown rejection message in \(messages)")
        let order = positions.compactMap { $0 }
        fuzzRequire(
            order == order.sorted() && Set(order).count == order.count, "messages out of legacy order: \(messages)")
    }

    static func checkAccepted(_ bid: BidRequest, document: JSONValue?) {
        guard let document, case .object = document else {
            fuzzRequire(false, "accepted a body that is not a JSON object")
            return
        }
        fuzzRequire(!bid.currentCPC.isNegative, "accepted a negative current_cpc")
        fuzzRequire(!bid.targetROAS.isNegative && !bid.targetROAS.isZero, "accepted target_roas <= 0")
        fuzzRequire(bid.adjustedCPC.scale == 2, "adjusted CPC \(bid.adjustedCPC) does not have 2 places")
        fuzzRequire(!bid.adjustedCPC.isNegative, "negative adjusted CPC \(bid.adjustedCPC)")
        // The same prices, written back as their exact decimal text, give the same bid. (Not the
        // product id: PHP's `empty()` accepts "0.0" but not the "0" it is written back as.)
        let again = BidRequest.priced(
            productID: LegacyValue(document["product_id"]), currentCPC: .string(bid.currentCPC.description),
            targetROAS: .string(bid.targetROAS.description))
        fuzzRequire(again == .success(bid), "re-pricing \(bid) from its own text gave \(again)")
        checkPrice(bid)
    }

    /// `adjusted = round(cpc × roas / 100, 2)` half away from zero, checked from the definition:
    /// `|cpc × roas − 100 × adjusted| ≤ 0.5` (in units of 0.01), with ties going up.
    static func checkPrice(_ bid: BidRequest) {
        guard let exact = try? bid.currentCPC.multiplied(by: bid.targetROAS) else { return }
        // exact / 100 rounded to 2 places: compare exact (scale s) with adjusted × 100 (scale 2).
        guard let hundredfold = try? bid.adjustedCPC.multiplied(by: FixedDecimal(100)),
            let difference = try? exact - hundredfold
        else { return }
        // |difference| must be <= 0.5 (half a cent times 100), and exactly 0.5 only rounding up.
        let half = try! FixedDecimal(significand: 5, scale: 1)  // 0.5
        fuzzRequire(difference.magnitude <= half, "adjusted CPC \(bid.adjustedCPC) is not the rounding of \(exact)/100")
        if difference.magnitude == half {
            fuzzRequire(difference.isNegative, "tie \(exact)/100 rounded down to \(bid.adjustedCPC)")
        }
    }

    /// Writes `document` with `JSONWriter` when the writer's API can express it, and parses it back.
    static func checkWriterRoundTrip(_ document: JSONValue) {
        guard case .object(let members) = document else { return }
        var writer = JSONWriter()
        writer.beginObject()
        for member in members {
            guard write(member.value, key: member.key, into: &writer) else { return }
        }
        writer.endObject()
        let reparsed = try? JSONParser.parse(writer.bytes)
        fuzzRequire(
            reparsed == document, "JSONWriter round trip changed the document: \(fuzzEscaped(writer.bytes))")
    }

    /// False when the writer has no way to write this value (numbers, booleans and nulls as array
    /// elements, arrays inside arrays).
    private static func write(_ value: JSONValue, key: String?, into writer: inout JSONWriter) -> Bool {
        switch value {
        case .object(let members):
            if let key { writer.key(key) }
            writer.beginObject()
            for member in members {
                guard write(member.value, key: member.key, into: &writer) else { return false }
            }
            writer.endObject()
        case .array(let elements):
            guard let key else { return false }
            writer.beginArray(key)
            for element in elements {
                switch element {
                case .string(let text): writer.element(text)
                case .object: guard write(element, key: nil, into: &writer) else { return false }
                default: return false
                }
            }
            writer.endArray()
        case .string(let text):
            guard let key else { return false }
            writer.member(key, text)
        case .number(let lexeme):
            guard let key else { return false }
            writer.rawMember(key, lexeme)
        case .bool(let flag):
            guard let key else { return false }
            writer.member(key, flag)
        case .null:
            guard let key else { return false }
            writer.nullMember(key)
        }
        return true
    }
}
