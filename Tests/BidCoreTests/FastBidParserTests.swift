import Testing

@testable import BidCore

/// The fast path gives exactly the general parser's answer, and takes the bodies clients send.
@Suite struct FastBidParserTests {
    /// Flat ASCII bodies: the fast path must answer them itself.
    static let flat = [
        #"{"product_id":123,"current_cpc":1.5,"target_roas":150}"#,
        #" { "product_id" : "123" , "current_cpc" : "1.50" , "target_roas" : "150" } "#,
        #"{"product_id":1,"current_cpc":1,"target_roas":1,"product_id":0}"#,  // the last duplicate wins
        #"{"product_id":"0","current_cpc":"1","target_roas":"1"}"#,  // "0" is empty in PHP
        #"{"product_id":"0.0","current_cpc":"1","target_roas":"1"}"#,  // "0.0" is not
        #"{"product_id":0.0,"current_cpc":"1","target_roas":"1"}"#,  // 0.0 the number is
        #"{"product_id":" 12 ","current_cpc":"1e1","target_roas":"-0"}"#,
        #"{"product_id":true,"current_cpc":null,"target_roas":false}"#,
        #"{"product_id":"","current_cpc":"abc","target_roas":"1.5.2"}"#,
        #"{"product_id":1e400,"current_cpc":-1,"target_roas":0}"#,
        #"{"product_id":7,"current_cpc":"99999999999999999999999999999999999","target_roas":"1000000"}"#,
        #"{}"#,
        #"{"other":"x","current_cpc":2}"#,
    ]

    /// Everything else goes to the general parser (nil from the fast one).
    static let general = [
        #"{"product_id":"\u0031","current_cpc":1,"target_roas":1}"#,
        #"{"product_id":1,"current_cpc":1,"target_roas":1,"extra":{"a":[1]}}"#,
        #"{"product_id":"é","current_cpc":1,"target_roas":1}"#,
        #"{"product_id":01,"current_cpc":1,"target_roas":1}"#,
        #"{"product_id":1,"current_cpc":1,"target_roas":1,}"#,
        #"{"product_id":1} x"#,
        #"[1]"#,
        #""#,
        #"{"product_id":-,"current_cpc":1,"target_roas":1}"#,
    ]

    @Test(arguments: flat) func flatBodiesTakeTheFastPathWithTheSameAnswer(_ body: String) throws {
        let bytes = Array(body.utf8)
        let fast = try #require(bytes.withUnsafeBufferPointer { FastBidParser.parse($0) })
        let tree = bytes.withUnsafeBufferPointer { PricedBid.parseWithTree(body: $0) }
        #expect(fast == tree)
    }

    @Test(arguments: general) func otherBodiesFallBackToTheGeneralParser(_ body: String) {
        let bytes = Array(body.utf8)
        #expect(bytes.withUnsafeBufferPointer { FastBidParser.parse($0) } == nil)
        #expect(PricedBid.parse(body: bytes) == bytes.withUnsafeBufferPointer { PricedBid.parseWithTree(body: $0) })
    }

    @Test func theUsualBodyIsPricedExactly() {
        let result = PricedBid.parse(body: Array(#"{"product_id":123,"current_cpc":"1.50","target_roas":150}"#.utf8))
        guard case .success(let bid) = result else {
            Issue.record("expected a priced bid, got \(result)")
            return
        }
        #expect(bid.adjustedCPC.description == "2.25")
        #expect(bid.currentCPC.description == "1.50")
    }
}
