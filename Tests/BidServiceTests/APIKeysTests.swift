import Testing

@testable import BidService

/// The bearer-key check on its own. Inputs from the http-request fuzzer's property "the guard
/// admits exactly `Bearer <key>`" are in Tests/Fuzz/http-request/corpus.
struct APIKeysTests {
    /// Only the low byte of the length difference was compared, so the key followed by 256 (or
    /// 512, …) more bytes passed. (Tests/Fuzz/http-request/corpus/regression-api-key-suffix-256)
    @Test(arguments: [1, 255, 256, 257, 512])
    func aKeyWithASuffixIsRefused(extra: Int) {
        let keys = APIKeys(["fuzz-key"])
        #expect(!keys.accepts(authorization: "Bearer fuzz-key" + String(repeating: "x", count: extra)))
    }

    @Test func exactlyTheKeyIsAccepted() {
        let keys = APIKeys(["other", "fuzz-key"])
        #expect(keys.accepts(authorization: "Bearer fuzz-key"))
        #expect(keys.accepts(authorization: "bearer fuzz-key"))
        #expect(!keys.accepts(authorization: "Bearer fuzz-ke"))
        #expect(!keys.accepts(authorization: "Bearer "))
        #expect(!keys.accepts(authorization: "fuzz-key"))
        #expect(!keys.accepts(authorization: nil))
    }
}

/// The scheme is the first seven bytes in any case; the key is every byte after them.
struct BearerSchemeTests {
    @Test(arguments: ["Bearer fuzz-key", "bearer fuzz-key", "BEARER fuzz-key", "bEaReR fuzz-key"])
    func theSchemeInAnyCase(authorization: String) {
        #expect(APIKeys(["fuzz-key"]).caller(authorization: authorization)?.secret == Array("fuzz-key".utf8))
    }

    @Test(arguments: [
        "Bearer\tfuzz-key", "Bearer  fuzz-key", "Bearerfuzz-key", "Basic fuzz-key", "Bearér fuzz-key",
        "\u{0392}earer fuzz-key", "Bearer fuzz-key ", "Bearer\u{301} fuzz-key",
    ])
    func anythingElseIsRefused(authorization: String) {
        #expect(APIKeys(["fuzz-key"]).caller(authorization: authorization) == nil)
    }

    @Test func aKeyBeyondASCIIIsComparedByItsBytes() {
        let keys = APIKeys(["clé-\u{301}", "fuzz-key"])
        #expect(keys.caller(authorization: "Bearer clé-\u{301}")?.secret == Array("clé-\u{301}".utf8))
        #expect(keys.caller(authorization: "Bearer cle\u{301}-\u{301}") == nil)
    }
}
