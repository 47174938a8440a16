import Testing

@testable import BidCore

@Suite struct LegacyPriceRulesTests {
    private func answer(_ line: String) -> String {
        var line = line
        return line.withUTF8 { String(decoding: PricedLine.answer(jsonLine: $0), as: UTF8.self) }
    }

    @Test(arguments: [
        (#"{"product_id":123,"current_cpc":1.5,"target_roas":150}"#, #"{"adjusted_cpc":2.25}"#),
        (#"{"product_id":"123","current_cpc":"999.99","target_roas":"500"}"#, #"{"adjusted_cpc":4999.95}"#),
        (#"{"product_id":1,"current_cpc":1.234,"target_roas":123.456}"#, #"{"adjusted_cpc":1.52}"#),
        (#"{"product_id":1,"current_cpc":10,"target_roas":120.1}"#, #"{"adjusted_cpc":12.01}"#),
        (#"{"product_id":1,"current_cpc":1.005,"target_roas":100}"#, #"{"adjusted_cpc":1.01}"#),
        (#"{"product_id":"007","current_cpc":" 12","target_roas":"1e2"}"#, #"{"adjusted_cpc":12.00}"#),
        (#"{"product_id":1,"current_cpc":"12 ","target_roas":100}"#, #"{"adjusted_cpc":12.00}"#),
        (#"{"product_id":1,"current_cpc":-0,"target_roas":100}"#, #"{"adjusted_cpc":0.00}"#),
        (#"{"product_id":1,"current_cpc":"-0.0","target_roas":100}"#, #"{"adjusted_cpc":0.00}"#),
    ])
    func pricesLikeTheLegacyHelper(input: String, expected: String) {
        #expect(answer(input) == expected)
    }

    @Test(arguments: [
        (#"{"product_id":"0","current_cpc":1,"target_roas":100}"#, #"{"errors":["Invalid product ID"]}"#),
        (#"{"product_id":0,"current_cpc":1,"target_roas":100}"#, #"{"errors":["Invalid product ID"]}"#),
        (#"{"product_id":0.0,"current_cpc":1,"target_roas":100}"#, #"{"errors":["Invalid product ID"]}"#),
        // empty("0.0") is false in PHP, and "0.0" is numeric: a valid product id.
        (#"{"product_id":"0.0","current_cpc":1,"target_roas":100}"#, #"{"adjusted_cpc":1.00}"#),
        (#"{}"#, #"{"errors":["Invalid product ID","Invalid current CPC","Invalid target ROAS"]}"#),
        (#"[]"#, #"{"errors":["Invalid product ID","Invalid current CPC","Invalid target ROAS"]}"#),
        (
            #"{"product_id":true,"current_cpc":null,"target_roas":[]}"#,
            #"{"errors":["Invalid product ID","Invalid current CPC","Invalid target ROAS"]}"#
        ),
        (
            #"{"product_id":1,"current_cpc":{},"target_roas":[1]}"#,
            #"{"errors":["Invalid current CPC","Invalid target ROAS"]}"#
        ),
        (
            #"{"product_id":"0x1A","current_cpc":".","target_roas":""}"#,
            #"{"errors":["Invalid product ID","Invalid current CPC","Invalid target ROAS"]}"#
        ),
        (
            #"{"product_id":" ","current_cpc":-0.01,"target_roas":0}"#,
            #"{"errors":["Invalid product ID","Invalid current CPC","Invalid target ROAS"]}"#
        ),
        (#"{"product_id":1,"current_cpc":1,"target_roas":"-0"}"#, #"{"errors":["Invalid target ROAS"]}"#),
        (#"{"product_id":1,"current_cpc":1,"target_roas":-150}"#, #"{"errors":["Invalid target ROAS"]}"#),
        (#"{"product_id":1,"current_cpc":1e400,"target_roas":100}"#, #"{"errors":["Invalid current CPC"]}"#),
        (
            #"{"product_id":1,"current_cpc":99999999999999999999999999999999999999,"target_roas":1000}"#,
            #"{"errors":["Adjusted CPC out of range"]}"#
        ),
        ("5", #"{"errors":["Malformed JSON"]}"#),
        (#"{"product_id":1,}"#, #"{"errors":["Malformed JSON"]}"#),
    ])
    func rejectsLikeTheLegacyHelper(input: String, expected: String) {
        #expect(answer(input) == expected)
    }

    @Test func calculateThrowsInLegacyOrder() throws {
        let negative = try FixedDecimal(parsing: "-1")
        #expect(throws: LegacyPriceRules.PricingError.targetROASNotPositive) {
            try LegacyPriceRules.adjustedCPC(currentCPC: negative, targetROAS: .zero)
        }
        #expect(throws: LegacyPriceRules.PricingError.currentCPCNegative) {
            try LegacyPriceRules.adjustedCPC(currentCPC: negative, targetROAS: FixedDecimal(100))
        }
    }

    @Test func lastDuplicateKeyWinsAsInPHP() {
        #expect(
            answer(#"{"product_id":0,"product_id":5,"current_cpc":1,"target_roas":100}"#) == #"{"adjusted_cpc":1.00}"#)
    }
}
