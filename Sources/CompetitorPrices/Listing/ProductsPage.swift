/// One parsed `GET /products?limit=&skip=` response: the products that passed, those that did
/// not (with reasons), and the paging numbers the server claimed.
public struct ProductsPage: Sendable, Equatable {
    public var items: [CompetitorItem]
    public var rejections: [ItemRejection]
    /// How many elements the `products` array had (accepted + rejected): what the next `skip` advances by.
    public var count: Int
    public var total: Int
    /// The server's echo of the request's `skip` and `limit`, when it sent them.
    public var skip: Int?
    public var limit: Int?

    public init(items: [CompetitorItem], rejections: [ItemRejection], count: Int, total: Int, skip: Int?, limit: Int?) {
        self.items = items
        self.rejections = rejections
        self.count = count
        self.total = total
        self.skip = skip
        self.limit = limit
    }
}
