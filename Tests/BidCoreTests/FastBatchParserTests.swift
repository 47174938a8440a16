import Testing

@testable import BidCore

/// The bulk envelope's fast path gives exactly the general parser's answer, and takes the bodies
/// clients send.
@Suite struct FastBatchParserTests {
    static let maxItems = 3

    /// The usual envelopes: the fast path must answer them itself.
    static let usual = [
        #"{"bids":[{"product_id":1,"current_cpc":"1.50","target_roas":150}]}"#,
        #" { "atomic" : true , "bids" : [ {"product_id":1,"current_cpc":1,"target_roas":1} , {} ] } "#,
        #"{"bids":[{"product_id":"","current_cpc":"abc","target_roas":0},{"product_id":2,"current_cpc":2,"target_roas":200}],"atomic":false}"#,
        #"{"bids":[{"product_id":1,"current_cpc":1,"target_roas":1,"product_id":0}]}"#,  // the last duplicate wins
        #"{"bids":[{"a":1},{"b":"x"},{"product_id":7,"current_cpc":-1,"target_roas":1}]}"#,
    ]

    /// Everything else goes to the general parser (nil from the fast one).
    static let other = [
        #"{"bids":[]}"#,  // empty: the general parser words the refusal
        #"{"bids":[{},{},{},{}]}"#,  // over the limit
        #"{"bids":[1,{}]}"#,  // an item that is not an object
        #"{"bids":[{"product_id":"\u0031","current_cpc":1,"target_roas":1}]}"#,  // an escape in an item
        #"{"bids":[{"x":{"y":1}}]}"#,  // nesting in an item
        #"{"bids":[{}],"bids":[{},{}]}"#,  // bids twice: the last counts
        #"{"bids":[{}],"atomic":null}"#,  // atomic not a boolean
        #"{"bids":[{}],"atomic":true,"atomic":false}"#,
        #"{"bids":[{}],"note":"x"}"#,  // another member
        #"{"bids":[{}],}"#,
        #"{"bids":[{},]}"#,
        #"{"bids":[{}]} x"#,
        #"{"bids":{}}"#,
        #"{}"#,
        #"[{"bids":[{}]}]"#,
        #""#,
    ]

    @Test(arguments: usual) func usualEnvelopesTakeTheFastPathWithTheSameAnswer(_ body: String) throws {
        let bytes = Array(body.utf8)
        let fast = try #require(bytes.withUnsafeBufferPointer { FastBatchParser.parse($0, maxItems: Self.maxItems) })
        let tree = bytes.withUnsafeBufferPointer { BidBatchRequest.parseWithTree(body: $0, maxItems: Self.maxItems) }
        #expect(.success(fast) == tree)
    }

    @Test(arguments: other) func otherEnvelopesFallBackToTheGeneralParser(_ body: String) {
        let bytes = Array(body.utf8)
        #expect(bytes.withUnsafeBufferPointer { FastBatchParser.parse($0, maxItems: Self.maxItems) } == nil)
        #expect(
            BidBatchRequest.parse(body: bytes, maxItems: Self.maxItems)
                == bytes.withUnsafeBufferPointer { BidBatchRequest.parseWithTree(body: $0, maxItems: Self.maxItems) })
    }

    @Test func aMixedBatchIsJudgedItemByItem() throws {
        let body =
            #"{"atomic":true,"bids":[{"product_id":5,"current_cpc":"0.80","target_roas":"125"},{"product_id":6}]}"#
        let batch = try BidBatchRequest.parse(body: Array(body.utf8), maxItems: Self.maxItems).get()
        #expect(batch.atomic)
        #expect(batch.items.count == 2)
        #expect(batch.validBids.map(\.adjustedCPC.description) == ["1.00"])
        #expect(batch.rejectedCount == 1)
    }
}
