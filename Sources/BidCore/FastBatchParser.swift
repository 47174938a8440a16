/// The bulk body's usual shape, read straight from its bytes: `{"bids": [item, …]}` with an
/// optional `"atomic": true|false`, every item a flat object that `FastBidParser` reads. No
/// `JSONValue` tree is built for the envelope or the items.
///
/// Anything else — another member, `bids` or `atomic` twice, an empty array, more items than
/// allowed, an item that is not a flat object or that `FastBidParser` would hand to the general
/// parser, a syntax error anywhere — returns nil, and the caller uses the general parser, which
/// decides (and words) every other case. For the bodies it accepts the items get the verdicts of
/// `PricedBid.judge` on the general parser's tree, because each item's verdict is
/// `FastBidParser`'s, which equals that of the general path for the same object (the fuzz target
/// `bid-request` checks the two whole paths against each other on every input).
enum FastBatchParser {
    static func parse(_ body: UnsafeBufferPointer<UInt8>, maxItems: Int) -> BidBatchRequest? {
        var scanner = FastBidParser.Scanner(bytes: body)
        var items: [Result<PricedBid, BidRejection>]?
        var atomic: Bool?
        scanner.skipWhitespace()
        let complete = scanner.scanMembers { scanner, key in
            let name = UnsafeBufferPointer(rebasing: body[key])
            if FastBidParser.Scanner.equals(name, "bids"), items == nil {
                items = scanner.scanItems(maxItems: maxItems)
                return items != nil
            }
            if FastBidParser.Scanner.equals(name, "atomic"), atomic == nil {
                atomic = scanner.literal("true") ? true : scanner.literal("false") ? false : nil
                return atomic != nil
            }
            return false
        }
        guard complete, let items else { return nil }
        scanner.skipWhitespace()
        guard scanner.index == body.count else { return nil }
        return BidBatchRequest(items: items, atomic: atomic ?? false)
    }
}

extension FastBidParser.Scanner {
    /// `[object, …]` with 1 to `maxItems` flat objects, each judged by the legacy rules; nil to
    /// use the general parser.
    fileprivate mutating func scanItems(maxItems: Int) -> [Result<PricedBid, BidRejection>]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var items: [Result<PricedBid, BidRejection>] = []
        items.reserveCapacity(min(maxItems, 128))
        repeat {
            skipWhitespace()
            guard items.count < maxItems, let fields = scanObjectValue() else { return nil }
            items.append(FastBidParser.price(fields, in: bytes))
            skipWhitespace()
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? items : nil
    }
}
