/// The body of `POST /api/bids/batch`: `{"bids": [bid, …], "atomic": false}`, each bid judged alone.
///
/// Only the envelope can fail as a whole; every item gets its own verdict from
/// `PricedBid.judge`, the same function that judges a single bid's body, so an item's messages
/// and their order are those of `POST /api/bid` by construction. Unknown members are ignored,
/// as they are in a single bid; a repeated member counts by its last occurrence (PHP's
/// `json_decode`).
public struct BidBatchRequest: Sendable, Equatable {
    /// One verdict per item, in request order: a priced bid, `.notAnObject` or `.invalid`.
    public let items: [Result<PricedBid, BidRejection>]
    /// All items or none: any invalid item means nothing is stored.
    public let atomic: Bool

    public init(items: [Result<PricedBid, BidRejection>], atomic: Bool) {
        self.items = items
        self.atomic = atomic
    }

    /// Items that passed the rules, in request order.
    public var validBids: [PricedBid] {
        items.compactMap { try? $0.get() }
    }

    public var rejectedCount: Int {
        items.reduce(0) { count, item in
            if case .failure = item { return count + 1 }
            return count
        }
    }

    /// Checks the envelope, then the item count against `maxItems` (before any item is priced),
    /// then judges every item. The usual body goes through `FastBatchParser`; anything else
    /// through the JSON tree.
    public static func parse(body: UnsafeBufferPointer<UInt8>, maxItems: Int) -> Result<
        BidBatchRequest, BidBatchRejection
    > {
        if let request = FastBatchParser.parse(body, maxItems: maxItems) { return .success(request) }
        return parseWithTree(body: body, maxItems: maxItems)
    }

    /// The general path: `JSONParser`'s tree, then each item judged by `PricedBid.judge`.
    public static func parseWithTree(body: UnsafeBufferPointer<UInt8>, maxItems: Int) -> Result<
        BidBatchRequest, BidBatchRejection
    > {
        let document: JSONValue
        do {
            document = try JSONParser.parse(body)
        } catch {
            return .failure(.malformedJSON(error.description))
        }
        guard case .object = document else { return .failure(.notAnObject) }
        guard case .array(let elements)? = document["bids"] else { return .failure(.bidsNotAnArray) }
        let atomic: Bool
        switch document["atomic"] {
        case nil: atomic = false
        case .bool(let flag)?: atomic = flag
        default: return .failure(.atomicNotABoolean)
        }
        guard !elements.isEmpty else { return .failure(.bidsEmpty) }
        guard elements.count <= maxItems else {
            return .failure(.tooManyItems(count: elements.count, limit: maxItems))
        }
        return .success(BidBatchRequest(items: elements.map(PricedBid.judge), atomic: atomic))
    }

    public static func parse(body: [UInt8], maxItems: Int) -> Result<BidBatchRequest, BidBatchRejection> {
        body.withUnsafeBufferPointer { parse(body: $0, maxItems: maxItems) }
    }
}

/// Why a batch envelope was refused as a whole (nothing in it is judged or stored).
public enum BidBatchRejection: Error, Sendable, Equatable {
    /// The body is not JSON (with the parser's reason).
    case malformedJSON(String)
    /// The body is JSON but not an object.
    case notAnObject
    /// `bids` is missing or not an array.
    case bidsNotAnArray
    /// `bids` is an empty array.
    case bidsEmpty
    /// `atomic` is present and not `true` or `false` (`null` included).
    case atomicNotABoolean
    /// More items than the server accepts in one request.
    case tooManyItems(count: Int, limit: Int)
}
