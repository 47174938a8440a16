import Testing

@testable import BidService

/// Which `Content-Type` values a bid route takes as JSON. ASCII values are read as bytes, others
/// by characters; the two readings must agree wherever both apply.
struct JSONContentTypeTests {
    @Test(arguments: [
        "application/json", "Application/JSON", "APPLICATION/JSON", "application/json; charset=utf-8",
        "  application/json  ;charset=utf-8", "\tapplication/json\t", "application/json;", "application/json ;a=b;c=d",
        "application/json; charset=é", ";application/json", ";;APPLICATION/JSON;", "application/json\u{00A0}",
    ])
    func json(contentType: String) {
        #expect(BidRoutes.isJSON(contentType))
        #expect(BidRoutes.mediaTypeIsJSON(contentType))
    }

    @Test(arguments: [
        "", ";", "application/jsonx", "application/json-seq", "application/x-json", "text/json", "application / json",
        "application/jso", "json", "application/jsön", "applicatio\u{301}n/json", "application/json\u{301}",
        "appl\u{0130}cation/json", "; ;application/json",
    ])
    func notJSON(contentType: String) {
        #expect(!BidRoutes.isJSON(contentType))
        #expect(!BidRoutes.mediaTypeIsJSON(contentType))
    }

    @Test func absentIsNotJSON() {
        #expect(!BidRoutes.isJSON(nil))
    }

    /// Every ASCII byte around and inside the media type: the byte reading decides as the
    /// character reading does.
    @Test func theByteReadingAgreesWithTheCharacterReading() {
        for byte in UInt8(0)...0x7F {
            let character = String(UnicodeScalar(byte))
            for value in [
                character + "application/json", "application/json" + character, "application/json" + character + "x",
                "application" + character + "json", character + "APPLICATION/JSON" + character,
                character + ";application/json", ";" + character + "application/json;",
            ] {
                let bytesAnswer = value.utf8.withContiguousStorageIfAvailable(BidRoutes.asciiMediaTypeIsJSON)
                #expect(bytesAnswer == BidRoutes.mediaTypeIsJSON(value), "\(Array(value.utf8))")
            }
        }
    }
}
