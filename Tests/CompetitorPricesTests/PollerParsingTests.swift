import BidCore
import Foundation
import ServiceTestSupport
import Synchronization
import Testing

@testable import CompetitorPrices

/// The poller's pure parts: the page parser (what it accepts and why it rejects), the paging
/// rules, Retry-After, backoff, the token bucket and the configuration.
@Suite struct PollerParsingTests {
    // MARK: Page parser

    static func page(_ text: String, parser: ProductsPageParser = ProductsPageParser()) -> Result<
        ProductsPage, PageRejection
    > {
        parser.parse(Array(text.utf8))
    }

    @Test func aDummyJSONPageKeepsExactPrices() throws {
        let result = Self.page(
            """
            {"products":[
              {"id":1,"title":"Essence Mascara","price":9.99,"brand":"Essence","category":"beauty","rating":4.94,"tags":["x"]},
              {"id":2,"title":"Eyeshadow","price":0.1,"category":"beauty"},
              {"id":"sku-3","title":"Long","price":987654.123456789012345678,"brand":null},
              {"id":4,"title":"Exponent","price":1.5e2}
            ],"total":194,"skip":0,"limit":4}
            """)
        let page = try result.get()
        #expect(page.total == 194 && page.skip == 0 && page.limit == 4 && page.count == 4)
        #expect(page.rejections.isEmpty)
        #expect(page.items.map(\.externalID) == ["1", "2", "sku-3", "4"])
        #expect(page.items.map(\.price.description) == ["9.99", "0.1", "987654.123456789012345678", "150"])
        #expect(
            page.items[0]
                == CompetitorItem(
                    externalID: "1", title: "Essence Mascara", brand: "Essence", category: "beauty",
                    price: try FixedDecimal(parsing: "9.99")))
        #expect(page.items[1].brand == nil && page.items[2].brand == nil && page.items[2].category == nil)
    }

    @Test func wholePagesAreRejectedForTheirShape() {
        let cases: [(String, PageRejection)] = [
            ("<html>502 Bad Gateway</html>", .notJSON(JSONError(.unexpectedCharacter, at: 0))),
            ("", .notJSON(JSONError(.unexpectedEnd, at: 0))),
            ("[]", .notAnObject),
            (#"{"total":1}"#, .missingField("products")),
            (#"{"products":{},"total":1}"#, .invalidField("products", expected: "an array")),
            (#"{"products":[]}"#, .missingField("total")),
            (#"{"products":[],"total":"3"}"#, .invalidField("total", expected: "a non-negative integer")),
            (#"{"products":[],"total":-1}"#, .invalidField("total", expected: "a non-negative integer")),
            (#"{"products":[],"total":1.5}"#, .invalidField("total", expected: "a non-negative integer")),
            (#"{"products":[],"total":1e3}"#, .invalidField("total", expected: "a non-negative integer")),
            (
                #"{"products":[],"total":99999999999999999999}"#,
                .invalidField("total", expected: "a non-negative integer")
            ),
            (#"{"products":[],"total":3,"skip":null}"#, .invalidField("skip", expected: "a non-negative integer")),
            (#"{"products":[],"total":3,"limit":"10"}"#, .invalidField("limit", expected: "a non-negative integer")),
        ]
        for (text, expected) in cases {
            #expect(Self.page(text).failure == expected, "\(text)")
        }
        let many = #"{"products":[\#(Array(repeating: "1", count: 11).joined(separator: ","))],"total":11}"#
        #expect(Self.page(many, parser: ProductsPageParser(maxProducts: 10)).failure == .tooManyProducts(11, limit: 10))
    }

    @Test func eachBadProductIsRejectedWithItsReasonAndTheRestKept() throws {
        let products = [
            #"{"id":1,"title":"ok","price":5}"#,
            #""not an object""#,
            #"{"title":"no id","price":1}"#,
            #"{"id":1.5,"title":"fractional id","price":1}"#,
            #"{"id":-3,"title":"negative id","price":1}"#,
            #"{"id":"","title":"empty id","price":1}"#,
            #"{"id":7}"#,
            #"{"id":8,"title":"","price":1}"#,
            #"{"id":9,"title":"nul \u0000 inside","price":1}"#,
            #"{"id":10,"title":"no price"}"#,
            #"{"id":11,"title":"string price","price":"12.50"}"#,
            #"{"id":12,"title":"null price","price":null}"#,
            #"{"id":13,"title":"negative","price":-0.01}"#,
            #"{"id":14,"title":"absurd","price":1000000.01}"#,
            #"{"id":15,"title":"huge","price":1e400}"#,
            #"{"id":16,"title":"brand is a number","price":1,"brand":42}"#,
            #"{"id":17,"title":"at the limit","price":1000000}"#,
            #"{"id":18,"title":"zero","price":0}"#,
        ]
        let page = try Self.page(#"{"products":[\#(products.joined(separator: ","))],"total":18}"#).get()
        #expect(page.items.map(\.externalID) == ["1", "17", "18"])
        #expect(page.count == 18)
        let reasons = Dictionary(uniqueKeysWithValues: page.rejections.map { ($0.index!, $0.reason) })
        #expect(reasons[1] == .notAnObject)
        #expect(reasons[2] == .missingField("id"))
        for index in 3...5 {
            guard case .invalidField("id", _)? = reasons[index] else {
                Issue.record("index \(index): \(String(describing: reasons[index]))")
                continue
            }
        }
        #expect(reasons[6] == .missingField("title"))
        guard case .invalidField("title", _)? = reasons[7], case .invalidField("title", _)? = reasons[8] else {
            Issue.record("titles: \(String(describing: reasons[7])) \(String(describing: reasons[8]))")
            return
        }
        #expect(reasons[9] == .missingField("price"))
        #expect(reasons[10] == .invalidField("price", expected: "a JSON number"))
        #expect(reasons[11] == .invalidField("price", expected: "a JSON number"))
        #expect(reasons[12] == .negativePrice("-0.01"))
        #expect(reasons[13] == .absurdPrice("1000000.01", limit: "1000000"))
        #expect(reasons[14] == .unrepresentablePrice("1e400"))
        guard case .invalidField("brand", _)? = reasons[15] else {
            Issue.record("brand: \(String(describing: reasons[15]))")
            return
        }
        #expect(page.rejections.first { $0.index == 12 }?.externalID == "13")
    }

    @Test func everyCopyOfADuplicatedIDIsRejected() throws {
        let page = try Self.page(
            """
            {"products":[{"id":1,"title":"a","price":1},{"id":2,"title":"b","price":2},{"id":1,"title":"a again","price":3},
                         {"id":"2","title":"string two","price":2}],"total":4}
            """
        ).get()
        // The number 2 and the string "2" are the same id once stored as text.
        #expect(page.items.isEmpty)
        #expect(page.rejections.map(\.reason) == Array(repeating: .duplicateID, count: 4))
    }

    @Test func theAbsurdPriceLimitIsConfigurable() throws {
        let parser = ProductsPageParser(maxPrice: try FixedDecimal(parsing: "50"))
        let page = try Self.page(
            #"{"products":[{"id":1,"title":"a","price":50.00},{"id":2,"title":"b","price":50.01}],"total":2}"#,
            parser: parser
        ).get()
        #expect(page.items.map(\.externalID) == ["1"])
        #expect(page.rejections.map(\.reason) == [.absurdPrice("50.01", limit: "50")])
    }

    /// A trap ends the test process, so the seed is printed before the first input: rerun with
    /// `TEST_RANDOM_SEED=<seed>` to get the same 3,000 inputs.
    @Test func arbitraryBytesNeverTrap() {
        let seed = SeededRandomNumberGenerator.seedFromEnvironment()
        print("arbitraryBytesNeverTrap: TEST_RANDOM_SEED=\(seed)")
        var generator = SeededRandomNumberGenerator(seed: seed)
        let alphabet = Array(#"{}[]":,0123456789.-eE truefalsnl"productsidtitlepricetotal\"#.utf8)
        for _ in 0..<3000 {
            let length = Int.random(in: 0..<80, using: &generator)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            _ = ProductsPageParser.parse(bytes)
        }
    }

    @Test func theSeededGeneratorRepeatsItsSequence() {
        var zero = SeededRandomNumberGenerator(seed: 0)
        #expect(zero.next() == 0xE220_A839_7B1D_CDAF)
        var first = SeededRandomNumberGenerator(seed: 42)
        var second = SeededRandomNumberGenerator(seed: 42)
        #expect((0..<8).map { _ in first.next() } == (0..<8).map { _ in second.next() })
    }

    // MARK: Paging rules

    @Test func pagingCoversExactMultiplesRemaindersAndEmptyListings() {
        var exact = ProductPagination(pageSize: 10, maxPages: 100, maxConsecutiveFailures: 3)
        #expect(exact.start() == .fetch(skip: 0))
        #expect(exact.pageParsed(total: 20, echoedSkip: 0, count: 10) == .store(then: .fetch(skip: 10)))
        #expect(exact.pageParsed(total: 20, echoedSkip: 10, count: 10) == .store(then: .done))

        var remainder = ProductPagination(pageSize: 10, maxPages: 100, maxConsecutiveFailures: 3)
        _ = remainder.start()
        #expect(remainder.pageParsed(total: 25, echoedSkip: nil, count: 10) == .store(then: .fetch(skip: 10)))
        #expect(remainder.pageParsed(total: 25, echoedSkip: nil, count: 10) == .store(then: .fetch(skip: 20)))
        #expect(remainder.pageParsed(total: 25, echoedSkip: nil, count: 5) == .store(then: .done))

        var empty = ProductPagination(pageSize: 10, maxPages: 100, maxConsecutiveFailures: 3)
        _ = empty.start()
        #expect(empty.pageParsed(total: 0, echoedSkip: 0, count: 0) == .store(then: .done))
    }

    @Test func pagingStopsWhenTheServerCannotBeBelieved() {
        var changing = ProductPagination(pageSize: 10, maxPages: 100, maxConsecutiveFailures: 3)
        _ = changing.start()
        _ = changing.pageParsed(total: 30, echoedSkip: 0, count: 10)
        let reason = "total changed from 30 to 31 at skip=10"
        #expect(changing.pageParsed(total: 31, echoedSkip: 10, count: 10) == .reject(reason, then: .stop(reason)))

        var ignoresSkip = ProductPagination(pageSize: 10, maxPages: 100, maxConsecutiveFailures: 3)
        _ = ignoresSkip.start()
        _ = ignoresSkip.pageParsed(total: 30, echoedSkip: 0, count: 10)
        guard case .reject(_, .stop) = ignoresSkip.pageParsed(total: 30, echoedSkip: 0, count: 10) else {
            Issue.record("a server that ignores skip must stop the run")
            return
        }

        var emptyEarly = ProductPagination(pageSize: 10, maxPages: 100, maxConsecutiveFailures: 3)
        _ = emptyEarly.start()
        #expect(
            emptyEarly.pageParsed(total: 30, echoedSkip: 0, count: 0)
                == .store(then: .stop("empty page at skip=0 before total=30")))

        var bounded = ProductPagination(pageSize: 10, maxPages: 2, maxConsecutiveFailures: 3)
        _ = bounded.start()
        _ = bounded.pageParsed(total: 1_000_000, echoedSkip: 0, count: 10)
        #expect(
            bounded.pageParsed(total: 1_000_000, echoedSkip: 10, count: 10)
                == .store(then: .stop("page limit 2 reached at skip=20 of total=1000000")))
    }

    @Test func unusablePagesAreSkippedUntilTooManyInARow() {
        var pagination = ProductPagination(pageSize: 10, maxPages: 100, maxConsecutiveFailures: 2)
        #expect(pagination.start() == .fetch(skip: 0))
        #expect(pagination.pageFailed("boom", fatal: false) == .stop("first page unusable: boom"))

        pagination = ProductPagination(pageSize: 10, maxPages: 100, maxConsecutiveFailures: 2)
        _ = pagination.start()
        _ = pagination.pageParsed(total: 50, echoedSkip: 0, count: 10)
        #expect(pagination.pageFailed("bad page", fatal: false) == .fetch(skip: 20))
        #expect(pagination.pageParsed(total: 50, echoedSkip: 20, count: 10) == .store(then: .fetch(skip: 30)))
        #expect(pagination.pageFailed("bad", fatal: false) == .fetch(skip: 40))
        #expect(pagination.pageFailed("bad again", fatal: false) == .stop("2 unusable pages in a row; last: bad again"))
        #expect(pagination.pageFailed("down", fatal: true) == .stop("down"))
    }

    // MARK: Retry-After and backoff

    @Test func retryAfterTakesSecondsAndTheThreeHTTPDateForms() {
        let now = Date(timeIntervalSince1970: 784_111_770)  // Sun, 06 Nov 1994 08:49:30 GMT
        #expect(RetryAfter.delay("120", now: now) == .seconds(120))
        #expect(RetryAfter.delay(" 0 ", now: now) == .seconds(0))
        #expect(RetryAfter.delay("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == .seconds(7))
        #expect(RetryAfter.delay("Sunday, 06-Nov-94 08:49:37 GMT", now: now) == .seconds(7))
        #expect(RetryAfter.delay("Sun Nov  6 08:49:37 1994", now: now) == .seconds(7))
        #expect(RetryAfter.delay("Sun, 06 Nov 1994 08:00:00 GMT", now: now) == .zero)
        #expect(RetryAfter.delay("99999999999999", now: now)! > .seconds(1_000_000))
        for garbage in [
            "", "-5", "1.5", "soon", "Sun, 06 Nov 1994 08:49:37 CET", "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT",
        ] {
            #expect(RetryAfter.delay(garbage, now: now) == nil, "\(garbage)")
        }
        #expect(HTTPDate.epochSeconds("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPDate.epochSeconds("Fri, 31 Dec 9999 23:59:59 GMT") == 253_402_300_799)
    }

    @Test func backoffIsFullJitterUnderAnExponentialCeiling() {
        let policy = RetryPolicy(
            maxAttempts: 5, base: .milliseconds(100), cap: .seconds(1), maxRetryAfter: .seconds(60))
        #expect(
            (1...6).map { policy.ceiling(retry: $0) }
                == [
                    .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1),
                    .seconds(1),
                ])
        #expect(policy.backoff(retry: 3, unit: 0) == .zero)
        #expect(policy.backoff(retry: 3, unit: 0.5) == .milliseconds(200))
        #expect(policy.backoff(retry: 40, unit: 0.999_999) <= .seconds(1))
        #expect(
            RetryPolicy.isRetryable(status: 429) && RetryPolicy.isRetryable(status: 500)
                && RetryPolicy.isRetryable(status: 503))
        #expect(
            !RetryPolicy.isRetryable(status: 404) && !RetryPolicy.isRetryable(status: 400)
                && !RetryPolicy.isRetryable(status: 200))
    }

    // MARK: Token bucket

    @Test func theBucketAllowsItsBurstThenItsRate() {
        let start = ContinuousClock.now
        let now = Mutex(start)
        let bucket = TokenBucket(ratePerMinute: 60, capacity: 3) { now.withLock { $0 } }
        #expect((0..<3).map { _ in bucket.reserve() } == [.zero, .zero, .zero])
        // Reservations queue up: one second apart at one per second.
        #expect(bucket.reserve() == .seconds(1))
        #expect(bucket.reserve() == .seconds(2))
        now.withLock { $0 = start + .seconds(10) }
        // Ten seconds refill the debt of two and the burst of three, no more.
        #expect((0..<3).map { _ in bucket.reserve() } == [.zero, .zero, .zero])
        #expect(bucket.reserve() == .seconds(1))
        // A server's Retry-After holds everything back for that long.
        now.withLock { $0 = start + .seconds(100) }
        bucket.holdOff(for: .seconds(30))
        #expect(bucket.reserve() == .seconds(31))
    }

    // MARK: Configuration

    @Test func configurationComesFromTheEnvironment() throws {
        let configuration = try PollerConfiguration.fromEnvironment([
            "COMPETITOR_SOURCES": " https://DummyJSON.com/ , http://127.0.0.1:8081/v2,,https://dummyjson.com",
            "POLL_INTERVAL": "5m", "POLL_RATE_PER_MINUTE": "12.5", "POLL_MAX_PRICE": "2500.50",
            "POLL_READ_TIMEOUT": "750ms",
            "POLL_MAX_ATTEMPTS": "", "POLL_PAGE_SIZE": "50",
        ])
        #expect(configuration.sources.map(\.name) == ["https://dummyjson.com", "http://127.0.0.1:8081/v2"])
        #expect(configuration.sources.map(\.host) == ["dummyjson.com", "127.0.0.1"])
        #expect(
            configuration.sources[1].pageURL(limit: 50, skip: 100).absoluteString
                == "http://127.0.0.1:8081/v2/products?limit=50&skip=100")
        #expect(configuration.interval == .seconds(300))
        #expect(configuration.ratePerMinute == 12.5)
        #expect(configuration.maxPrice.description == "2500.50")
        #expect(configuration.readTimeout == .milliseconds(750))
        #expect(configuration.maxAttempts == 4)
        #expect(configuration.pageSize == 50)
        #expect(configuration.userAgent == "BidEngine/\(PollerConfiguration.version) (+competitor-price-poller)")
        #expect(
            try CompetitorSource(parsing: "https://x.example/api/products").pageURL(limit: 1, skip: 2).absoluteString
                == "https://x.example/api/products?limit=1&skip=2")
    }

    /// A base URL and its /products endpoint are one source (one catalogue stored once), however spelled.
    @Test func baseURLAndItsProductsEndpointAreOneSource() throws {
        let spellings = [
            "http://127.0.0.1:9000", "http://127.0.0.1:9000/", "http://127.0.0.1:9000/products",
            "HTTP://127.0.0.1:9000/products/",
        ]
        let sources = try spellings.map { try CompetitorSource(parsing: $0) }
        #expect(Set(sources.map(\.name)) == ["http://127.0.0.1:9000"])
        #expect(Set(sources).count == 1)
        #expect(
            sources[2].pageURL(limit: 1, skip: 0).absoluteString == "http://127.0.0.1:9000/products?limit=1&skip=0")
        #expect(try CompetitorSource.list(parsing: spellings.joined(separator: ",")).count == 1)
        #expect(try CompetitorSource(parsing: "https://x.example:443/api/products").name == "https://x.example/api")
        #expect(try CompetitorSource(parsing: "http://x.example:80").name == "http://x.example")
    }

    @Test func intervalsAcceptSecondsAndUnits() {
        #expect(
            ["300", "300s", "5m", "1h", "250ms", " 90 "].map(DurationText.parse)
                == [.seconds(300), .seconds(300), .seconds(300), .seconds(3600), .milliseconds(250), .seconds(90)])
        for bad in ["", "0", "-5", "5 m", "1.5m", "5d", "m", "9999999999"] {
            #expect(DurationText.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func badSettingsNameTheirVariable() {
        let cases: [([String: String], String)] = [
            (["POLL_INTERVAL": "soon"], "POLL_INTERVAL"),
            (["POLL_RATE_PER_MINUTE": "0"], "POLL_RATE_PER_MINUTE"),
            (["POLL_MAX_PRICE": "-1"], "POLL_MAX_PRICE"),
            (["POLL_MAX_ATTEMPTS": "0"], "POLL_MAX_ATTEMPTS"),
            (["POLL_MAX_BODY_BYTES": "lots"], "POLL_MAX_BODY_BYTES"),
            (["COMPETITOR_SOURCES": "ftp://example.com"], "ftp://example.com"),
            (["COMPETITOR_SOURCES": "https://user:secret@example.com"], "credentials"),
            (["COMPETITOR_SOURCES": "https://example.com/?limit=5"], "query"),
        ]
        for (environment, mention) in cases {
            do {
                _ = try PollerConfiguration.fromEnvironment(environment)
                Issue.record("accepted \(environment)")
            } catch {
                #expect(error.description.contains(mention), "\(error)")
            }
        }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
