import BidCore
import CompetitorPrices

/// `products-page`: the bytes of a competitor's `GET /products` response, trusted for nothing.
///
/// Properties, with the default limits and with tiny ones (so that every limit is reachable):
/// the parser never traps; a page accounts for every element of `products` exactly once (as an
/// item or as a rejection, in document order); accepted items respect every limit, have unique
/// ids and prices in `0 ... maxPrice`; paging numbers are non-negative.
@_cdecl("LLVMFuzzerTestOneInput")
public func productsPageFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let document = try? JSONParser.parse(bytes)
    for parser in ProductsPageFuzzer.parsers {
        let result = parser.parse(bytes)
        switch result {
        case .success(let page):
            ProductsPageFuzzer.check(page, parser: parser, document: document)
        case .failure(.notJSON):
            fuzzRequire(document == nil, "rejected as not JSON but JSONParser accepts it")
        case .failure:
            fuzzRequire(document != nil, "a non-JSON body rejected for another reason: \(result)")
        }
    }
    return 0
}

enum ProductsPageFuzzer {
    static let parsers = [
        ProductsPageParser(),
        ProductsPageParser(maxPrice: FixedDecimal(100), maxProducts: 3, maxTextBytes: 8, maxIDBytes: 4),
    ]

    static func check(_ page: ProductsPage, parser: ProductsPageParser, document: JSONValue?) {
        guard case .array(let products)? = document?["products"] else {
            fuzzRequire(false, "a page from a document without a products array")
            return
        }
        fuzzRequire(page.count == products.count, "count \(page.count) for \(products.count) products")
        fuzzRequire(page.count <= parser.maxProducts, "more than maxProducts accepted")
        fuzzRequire(page.items.count + page.rejections.count == page.count, "products lost or duplicated")
        fuzzRequire(page.total >= 0 && (page.skip ?? 0) >= 0 && (page.limit ?? 0) >= 0, "negative paging number")
        let indices = page.rejections.map { $0.index ?? -1 }
        fuzzRequire(indices == indices.sorted() && Set(indices).count == indices.count, "rejections out of order")
        fuzzRequire(indices.allSatisfy { (0..<page.count).contains($0) }, "rejection index out of range")
        var ids = Set<String>()
        for item in page.items {
            fuzzRequire(ids.insert(item.externalID).inserted, "duplicate id \(item.externalID) accepted")
            fuzzRequire(
                !item.externalID.isEmpty && item.externalID.utf8.count <= parser.maxIDBytes
                    && !item.externalID.utf8.contains(0), "unusable id \(fuzzEscaped(item.externalID.utf8))")
            for text in [item.title, item.brand, item.category].compactMap({ $0 }) {
                fuzzRequire(
                    !text.isEmpty && text.utf8.count <= parser.maxTextBytes && !text.utf8.contains(0),
                    "unusable text \(fuzzEscaped(text.utf8))")
            }
            fuzzRequire(
                !item.price.isNegative && item.price <= parser.maxPrice, "price \(item.price) outside 0...maxPrice")
            // The price is the exact value of the lexeme, kept to the scale it was sent with.
            fuzzRequire((try? FixedDecimal(parsing: item.price.description)) == item.price, "price text unstable")
        }
        for rejection in page.rejections where rejection.reason == .duplicateID {
            fuzzRequire(rejection.externalID.map { !ids.contains($0) } ?? false, "an id both accepted and duplicate")
        }
    }
}
