/// A bid that passed the legacy rules, with its price: what gets stored and answered.
public struct PricedBid: Sendable, Equatable {
    public let productID: FixedDecimal
    public let currentCPC: FixedDecimal
    public let targetROAS: FixedDecimal
    public let adjustedCPC: FixedDecimal

    public init(productID: FixedDecimal, currentCPC: FixedDecimal, targetROAS: FixedDecimal, adjustedCPC: FixedDecimal)
    {
        self.productID = productID
        self.currentCPC = currentCPC
        self.targetROAS = targetROAS
        self.adjustedCPC = adjustedCPC
    }

    /// Validates the three legacy fields and prices the bid.
    public static func priced(productID: LegacyValue, currentCPC: LegacyValue, targetROAS: LegacyValue) -> Result<
        PricedBid, BidRejection
    > {
        let product = productID.numeric
        return priced(
            productIDIsEmpty: productID.isEmptyInPHP(numeric: product), productID: product,
            currentCPC: currentCPC.numeric, targetROAS: targetROAS.numeric)
    }

    /// `priced` over values already read: each field's `numeric` once, PHP's `empty()` of the id.
    static func priced(
        productIDIsEmpty: Bool, productID: LegacyValue.Numeric, currentCPC: LegacyValue.Numeric,
        targetROAS: LegacyValue.Numeric
    ) -> Result<PricedBid, BidRejection> {
        let violations = LegacyPriceRules.validate(
            productIDIsEmpty: productIDIsEmpty, productID: productID, currentCPC: currentCPC, targetROAS: targetROAS)
        guard violations.isEmpty,
            case .value(let product) = productID,
            case .value(let cpc) = currentCPC,
            case .value(let roas) = targetROAS
        else {
            return .failure(.invalid(violations.map(\.rawValue)))
        }
        do {
            let adjusted = try LegacyPriceRules.adjustedCPC(currentCPC: cpc, targetROAS: roas)
            return .success(PricedBid(productID: product, currentCPC: cpc, targetROAS: roas, adjustedCPC: adjusted))
        } catch {
            return .failure(.invalid([error.message]))
        }
    }

    /// Parses a request body `{"product_id", "current_cpc", "target_roas"}` (numbers or numeric
    /// strings) and prices it. Unknown members are ignored, as the legacy endpoint ignored them.
    /// The usual flat body goes through `FastBidParser`; anything else through the JSON tree.
    public static func parse(body: UnsafeBufferPointer<UInt8>) -> Result<PricedBid, BidRejection> {
        FastBidParser.parse(body) ?? parseWithTree(body: body)
    }

    /// The general path: `JSONParser`'s tree, then the legacy view of its three members.
    public static func parseWithTree(body: UnsafeBufferPointer<UInt8>) -> Result<PricedBid, BidRejection> {
        let document: JSONValue
        do {
            document = try JSONParser.parse(body)
        } catch {
            return .failure(.malformedJSON(error.description))
        }
        return judge(document)
    }

    /// A parsed bid document judged as `POST /api/bid` judges its body: an object is validated
    /// and priced, anything else is `notAnObject`. Bulk items go through here too, so that an item
    /// gets exactly the answer the same document gets as a single bid.
    public static func judge(_ document: JSONValue) -> Result<PricedBid, BidRejection> {
        guard case .object = document else { return .failure(.notAnObject) }
        return priced(
            productID: LegacyValue(document["product_id"]),
            currentCPC: LegacyValue(document["current_cpc"]),
            targetROAS: LegacyValue(document["target_roas"]))
    }

    public static func parse(body: [UInt8]) -> Result<PricedBid, BidRejection> {
        body.withUnsafeBufferPointer { parse(body: $0) }
    }
}

/// Why a bid was not priced.
public enum BidRejection: Error, Sendable, Equatable {
    /// The body is not JSON (with the parser's reason).
    case malformedJSON(String)
    /// The body is JSON but not an object.
    case notAnObject
    /// Legacy validation messages, in legacy order (or the pricing error's message).
    case invalid([String])
}
