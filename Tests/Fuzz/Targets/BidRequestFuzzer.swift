import BidCore

/// `bid-request`: the body of `POST /api/bid` as a client sends it, and the same bytes as the
/// envelope of `POST /api/bids/batch` and as an item inside one.
///
/// Properties: `PricedBid.parse(body:)` never traps; its fast path (`FastBidParser`) gives the
/// general JSON parser's answer on every input; it rejects as malformed exactly what
/// `JSONParser` rejects; an accepted bid satisfies the legacy rules and its price is the exact
/// `round(cpc × roas / 100, 2)`; rejections carry the legacy messages in legacy order; and every
/// document that `JSONWriter` can express survives writer → parser unchanged. For the envelope:
/// `BidBatchRequest.parse` never traps, refuses as malformed exactly what `JSONParser` refuses,
/// enforces the item limit, and the input placed as the only item of `{"bids":[…]}` gets
/// exactly the verdict it gets as a single bid's body. The envelope's fast path
/// (`FastBatchParser`) gives the general parser's answer on the input, on the input as the only
/// item and on the input as two items of an atomic request.
@_cdecl("LLVMFuzzerTestOneInput")
public func bidRequestFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = UnsafeBufferPointer(start: data, count: size)
    let result = PricedBid.parse(body: body)
    fuzzRequire(result == PricedBid.parse(body: Array(body)), "the two parse overloads disagree")
    // The fast path (flat ASCII bodies, no tree) and the general JSON parser agree on every input.
    let general = PricedBid.parseWithTree(body: body)
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
    BidRequestFuzzer.checkEnvelope(body, document: document)
    BidRequestFuzzer.checkAsItem(body, single: result, isJSON: document != nil)
    return 0
}

enum BidRequestFuzzer {
    static let legacyMessages = LegacyPriceRules.Violation.allCases.map(\.rawValue)
    static let pricingMessages = [
        LegacyPriceRules.PricingError.targetROASNotPositive, .currentCPCNegative, .adjustedCPCOutOfRange,
    ].map(\.message)

    /// A small item limit, so that the 413 branch is reachable with short inputs.
    static let maxItems = 3

    /// The input as a whole `POST /api/bids/batch` body.
    static func checkEnvelope(_ body: UnsafeBufferPointer<UInt8>, document: JSONValue?) {
        let parsed = parseEnvelope(body)
        guard let document else {
            guard case .failure(.malformedJSON) = parsed else {
                fuzzRequire(false, "not JSON, but the envelope parser says \(parsed)")
                return
            }
            return
        }
        switch parsed {
        case .failure(.malformedJSON(let reason)):
            fuzzRequire(false, "JSON, but the envelope parser calls it malformed: \(reason)")
        case .failure(.notAnObject):
            if case .object = document { fuzzRequire(false, "an object refused as not an object") }
        case .failure(.bidsNotAnArray):
            if case .array? = document["bids"] { fuzzRequire(false, "bids is an array, refused as not one") }
        case .failure(.bidsEmpty):
            fuzzRequire(
                document["bids"] == .array([]), "bids refused as empty: \(String(describing: document["bids"]))")
        case .failure(.atomicNotABoolean):
            if case .bool? = document["atomic"] { fuzzRequire(false, "a boolean atomic refused") }
        case .failure(.tooManyItems(let count, let limit)):
            fuzzRequire(count > limit && limit == maxItems, "\(count) items refused with limit \(limit)")
        case .success(let batch):
            guard case .array(let elements)? = document["bids"] else {
                fuzzRequire(false, "accepted an envelope without a bids array")
                return
            }
            fuzzRequire(!elements.isEmpty && elements.count <= maxItems, "accepted \(elements.count) items")
            fuzzRequire(
                batch.items.count == elements.count, "\(batch.items.count) verdicts for \(elements.count) items")
            let atomic: Bool
            switch document["atomic"] {
            case .bool(let flag)?: atomic = flag
            case nil: atomic = false
            default:
                fuzzRequire(false, "accepted a non-boolean atomic")
                return
            }
            fuzzRequire(batch.atomic == atomic, "atomic read as \(batch.atomic)")
            fuzzRequire(batch.validBids.count + batch.rejectedCount == batch.items.count, "items lost in counting")
            for item in batch.items {
                switch item {
                case .success(let bid): checkPrice(bid)
                case .failure(.invalid(let messages)): checkRejection(messages)
                case .failure(.notAnObject): break
                case .failure(.malformedJSON): fuzzRequire(false, "an item of parsed JSON called malformed")
                }
            }
        }
    }

    /// `BidBatchRequest.parse` of `body`, once the envelope's fast path and the general parser
    /// were found to agree on it.
    static func parseEnvelope(_ body: UnsafeBufferPointer<UInt8>) -> Result<BidBatchRequest, BidBatchRejection> {
        let parsed = BidBatchRequest.parse(body: body, maxItems: maxItems)
        let general = BidBatchRequest.parseWithTree(body: body, maxItems: maxItems)
        fuzzRequire(parsed == general, "the envelope's fast path gave \(parsed), the general parser \(general)")
        return parsed
    }

    /// The input as the only item of a bulk request: the single bid's verdict, exactly.
    static func checkAsItem(
        _ body: UnsafeBufferPointer<UInt8>, single: Result<PricedBid, BidRejection>, isJSON: Bool
    ) {
        guard isJSON else { return }
        let wrapped = Array(#"{"bids":["#.utf8) + Array(body) + Array("]}".utf8)
        let twice =
            Array(#"{"atomic":true, "bids":["#.utf8) + Array(body) + Array(",".utf8) + Array(body)
            + Array("]}".utf8)
        _ = twice.withUnsafeBufferPointer(parseEnvelope)
        let parsed = wrapped.withUnsafeBufferPointer(parseEnvelope)
        // Two more levels of nesting can pass the parser's depth limit.
        if case .failure(.malformedJSON(let reason)) = parsed, reason.hasPrefix(JSONError.Reason.tooDeep.rawValue) {
            return
        }
        guard case .success(let batch) = parsed, batch.items.count == 1 else {
            fuzzRequire(false, "a JSON value wrapped as the only item is not a one-item batch")
            return
        }
        fuzzRequire(batch.items[0] == single, "as an item: \(batch.items[0]); as a single bid: \(single)")
    }

    static func checkRejection(_ messages: [String]) {
        fuzzRequire(!messages.isEmpty, "rejected without a message")
        if messages.count == 1, pricingMessages.contains(messages[0]) { return }
        let positions = messages.map { legacyMessages.firstIndex(of: $0) }
        fuzzRequire(!positions.contains(nil), "unknown rejection message in \(messages)")
        let order = positions.compactMap { $0 }
        fuzzRequire(
            order == order.sorted() && Set(order).count == order.count, "messages out of legacy order: \(messages)")
    }

    static func checkAccepted(_ bid: PricedBid, document: JSONValue?) {
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
        let again = PricedBid.priced(
            productID: LegacyValue(document["product_id"]), currentCPC: .string(bid.currentCPC.description),
            targetROAS: .string(bid.targetROAS.description))
        fuzzRequire(again == .success(bid), "re-pricing \(bid) from its own text gave \(again)")
        checkPrice(bid)
    }

    /// `adjusted = round(cpc × roas / 100, 2)` half away from zero, checked from the definition:
    /// `|cpc × roas − 100 × adjusted| ≤ 0.5` (in units of 0.01), with ties going up.
    static func checkPrice(_ bid: PricedBid) {
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
