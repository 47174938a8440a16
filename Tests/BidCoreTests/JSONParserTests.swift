import Testing

@testable import BidCore

@Suite struct JSONParserTests {
    @Test func keepsNumberLexemesExactly() throws {
        let value = try JSONParser.parse(
            #" {"a": 1.50, "b": -0, "c": 1e2, "d": [true, false, null], "e": "x\u00e9\ud83d\ude00"} "#)
        #expect(value["a"] == .number("1.50"))
        #expect(value["b"] == .number("-0"))
        #expect(value["c"] == .number("1e2"))
        #expect(value["d"] == .array([.bool(true), .bool(false), .null]))
        #expect(value["e"] == .string("xé😀"))
    }

    @Test(arguments: [
        ("", JSONError.Reason.unexpectedEnd), ("{", .unexpectedEnd), (#"{"a":1,}"#, .expectedKey),
        ("[1,]", .unexpectedCharacter),
        ("01", .trailingData), (".5", .unexpectedCharacter), ("5.", .invalidNumber), ("-", .invalidNumber),
        ("{} x", .trailingData), (#""\ud800""#, .unpairedSurrogate), (#""\x""#, .invalidEscape),
        ("\"a\u{01}\"", .controlCharacterInString),
        ("tru", .unexpectedEnd), ("nul!", .unexpectedCharacter), ("NaN", .unexpectedCharacter),
    ])
    func rejectsWhatRFC8259Rejects(text: String, reason: JSONError.Reason) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
        do { _ = try JSONParser.parse(text) } catch { #expect(error.reason == reason) }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(throws: JSONError(.invalidUTF8, at: 0)) { try JSONParser.parse(bytes) }
    }

    @Test func boundsNesting() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(throws: Never.self) { try JSONParser.parse(fine) }
    }

    @Test func writerEscapesAndWritesExactNumbers() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("adjusted_cpc", try FixedDecimal(parsing: "1.50"))
        writer.member("bid_id", Int64(7))
        writer.member("note", "a\"b\\c\n\u{01}")
        writer.endObject()
        #expect(
            String(decoding: writer.bytes, as: UTF8.self)
                == #"{"adjusted_cpc":1.50,"bid_id":7,"note":"a\"b\\c\n\u0001"}"#)
    }

    @Test func plainKeysAndIdDigitsAreWrittenWithoutStrings() throws {
        var writer = JSONWriter(capacity: 8)
        for id in [Int64(0), 9, 10, -1, .max, .min] {
            writer.reset()
            writer.beginObject()
            writer.member(plainKey: "bid_id", id)
            writer.member(plainKey: "adjusted_cpc", try FixedDecimal(parsing: "2.25"))
            writer.endObject()
            #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"bid_id":\#(id),"adjusted_cpc":2.25}"#)
        }
    }
}
