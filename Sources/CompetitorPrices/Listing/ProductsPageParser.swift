public import BidCore

/// Turns the bytes of a products response into a `ProductsPage`, trusting nothing.
///
/// Pure (no I/O, no clock, no globals) so that it can be fuzzed: every input yields either a page
/// or a `PageRejection`, never a trap. Page-level problems (not JSON, wrong shape, unusable paging
/// numbers) reject the page; problems of one product reject only that product, with a reason.
/// Prices are read from the JSON lexeme into `FixedDecimal`, so `19.99` is stored as 19.99.
public struct ProductsPageParser: Sendable {
    /// Prices above this are rejected as absurd (a cents/units mix-up, a placeholder like 99999999).
    public var maxPrice: FixedDecimal
    /// A page with more products than this is rejected whole.
    public var maxProducts: Int
    /// Longest `title`, `brand` or `category`, in UTF-8 bytes.
    public var maxTextBytes: Int
    /// Longest id, in UTF-8 bytes.
    public var maxIDBytes: Int

    public static let defaultMaxPrice = FixedDecimal(1_000_000)

    public init(
        maxPrice: FixedDecimal = Self.defaultMaxPrice, maxProducts: Int = 10_000, maxTextBytes: Int = 1024,
        maxIDBytes: Int = 128
    ) {
        self.maxPrice = maxPrice
        self.maxProducts = maxProducts
        self.maxTextBytes = maxTextBytes
        self.maxIDBytes = maxIDBytes
    }

    /// With the default limits.
    public static func parse(_ bytes: [UInt8]) -> Result<ProductsPage, PageRejection> {
        ProductsPageParser().parse(bytes)
    }

    public func parse(_ bytes: [UInt8]) -> Result<ProductsPage, PageRejection> {
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            return .failure(.notJSON(error))
        }
        guard case .object = document else { return .failure(.notAnObject) }
        guard let productsValue = document["products"] else { return .failure(.missingField("products")) }
        guard case .array(let products) = productsValue else {
            return .failure(.invalidField("products", expected: "an array"))
        }
        guard products.count <= maxProducts else {
            return .failure(.tooManyProducts(products.count, limit: maxProducts))
        }
        guard let totalValue = document["total"] else { return .failure(.missingField("total")) }
        guard let total = Self.count(totalValue) else {
            return .failure(.invalidField("total", expected: Self.countExpectation))
        }
        var echoed: [String: Int] = [:]
        for name in ["skip", "limit"] {
            guard let value = document[name] else { continue }
            guard let number = Self.count(value) else {
                return .failure(.invalidField(name, expected: Self.countExpectation))
            }
            echoed[name] = number
        }

        var candidates: [(index: Int, id: String?, outcome: Result<CompetitorItem, ItemRejection.Reason>)] = []
        candidates.reserveCapacity(products.count)
        var occurrences: [String: Int] = [:]
        for (index, product) in products.enumerated() {
            let (id, outcome) = item(product)
            if let id { occurrences[id, default: 0] += 1 }
            candidates.append((index, id, outcome))
        }
        var items: [CompetitorItem] = []
        var rejections: [ItemRejection] = []
        for candidate in candidates {
            if let id = candidate.id, occurrences[id, default: 0] > 1 {
                rejections.append(ItemRejection(index: candidate.index, externalID: id, reason: .duplicateID))
                continue
            }
            switch candidate.outcome {
            case .success(let item): items.append(item)
            case .failure(let reason):
                rejections.append(ItemRejection(index: candidate.index, externalID: candidate.id, reason: reason))
            }
        }
        return .success(
            ProductsPage(
                items: items, rejections: rejections, count: products.count, total: total, skip: echoed["skip"],
                limit: echoed["limit"]))
    }

    // MARK: One product

    /// The id when it is readable (for duplicate detection and logs), and the item or why not.
    private func item(_ value: JSONValue) -> (String?, Result<CompetitorItem, ItemRejection.Reason>) {
        guard case .object = value else { return (nil, .failure(.notAnObject)) }
        guard let idValue = value["id"] else { return (nil, .failure(.missingField("id"))) }
        guard let id = externalID(idValue) else {
            return (
                nil,
                .failure(
                    .invalidField(
                        "id", expected: "a non-negative integer or a non-empty string of at most \(maxIDBytes) bytes"))
            )
        }
        guard let titleValue = value["title"] else { return (id, .failure(.missingField("title"))) }
        guard case .valid(let title?) = text(titleValue) else {
            return (id, .failure(.invalidField("title", expected: textExpectation)))
        }
        guard case .valid(let brand) = text(value["brand"] ?? .null) else {
            return (id, .failure(.invalidField("brand", expected: textExpectation + " or null")))
        }
        guard case .valid(let category) = text(value["category"] ?? .null) else {
            return (id, .failure(.invalidField("category", expected: textExpectation + " or null")))
        }
        return (
            id,
            price(value["price"]).map {
                CompetitorItem(externalID: id, title: title, brand: brand, category: category, price: $0)
            }
        )
    }

    private func price(_ value: JSONValue?) -> Result<FixedDecimal, ItemRejection.Reason> {
        guard let value else { return .failure(.missingField("price")) }
        guard case .number(let lexeme) = value else {
            return .failure(.invalidField("price", expected: "a JSON number"))
        }
        guard let price = try? FixedDecimal(parsing: lexeme) else { return .failure(.unrepresentablePrice(lexeme)) }
        if price.isNegative { return .failure(.negativePrice(lexeme)) }
        if price > maxPrice { return .failure(.absurdPrice(lexeme, limit: maxPrice.description)) }
        return .success(price)
    }

    /// A JSON integer's digits, or a string as sent; both must be usable as a text key.
    private func externalID(_ value: JSONValue) -> String? {
        switch value {
        case .number(let lexeme):
            guard Self.isCanonicalInteger(lexeme), lexeme.utf8.count <= maxIDBytes else { return nil }
            return lexeme
        case .string(let text):
            guard !text.isEmpty, text.utf8.count <= maxIDBytes, Self.isStorable(text) else { return nil }
            return text
        default:
            return nil
        }
    }

    private var textExpectation: String { "a non-empty string of at most \(maxTextBytes) bytes without NUL" }

    private enum TextField {
        /// A usable string, or nil for JSON null.
        case valid(String?)
        case invalid
    }

    private func text(_ value: JSONValue) -> TextField {
        switch value {
        case .null:
            return .valid(nil)
        case .string(let text):
            guard !text.isEmpty, text.utf8.count <= maxTextBytes, Self.isStorable(text) else { return .invalid }
            return .valid(text)
        default:
            return .invalid
        }
    }

    // MARK: Lexemes

    static let countExpectation = "a non-negative integer"

    /// A non-negative JSON integer that fits comfortably in `Int` (at most 15 digits).
    static func count(_ value: JSONValue) -> Int? {
        guard case .number(let lexeme) = value, isCanonicalInteger(lexeme), lexeme.utf8.count <= 15 else { return nil }
        return Int(lexeme)
    }

    /// `0` or `[1-9][0-9]*`: no sign, fraction or exponent (`1.0` and `1e3` are not ids or counts).
    static func isCanonicalInteger(_ lexeme: String) -> Bool {
        let bytes = lexeme.utf8
        guard let first = bytes.first else { return false }
        guard bytes.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return false }
        return first != UInt8(ascii: "0") || bytes.count == 1
    }

    /// PostgreSQL `text` cannot hold NUL, and libpq would cut the parameter there.
    static func isStorable(_ text: String) -> Bool {
        !text.utf8.contains(0)
    }
}
