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
