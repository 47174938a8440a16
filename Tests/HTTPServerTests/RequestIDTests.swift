import Testing

@testable import HTTPServer

/// Request ids drawn from the per-loop pool of random bytes (refilled every 256 ids).
struct RequestIDTests {
    @Test func freshIdsAre32LowercaseHexDigitsAndDistinctAcrossRefills() {
        var ids = RequestID()
        let drawn = (0..<1_000).map { _ in ids.generate() }
        #expect(Set(drawn).count == 1_000)
        for id in drawn {
            #expect(id.utf8.count == 32)
            #expect(id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }, "\(id)")
        }
        // Every hex digit turns up in every position: the bytes are not stuck or reused.
        for position in 0..<32 {
            let digits = Set(drawn.map { Array($0.utf8)[position] })
            #expect(digits.count == 16, "position \(position): \(digits.count) digits")
        }
    }

    @Test func aSaneClientIdIsKeptAndAnyOtherReplaced() {
        var ids = RequestID()
        #expect(ids.accept("abc-123_x.y:z") == "abc-123_x.y:z")
        for hostile in ["", "has space", "new\nline", String(repeating: "a", count: 129), "é"] {
            let replaced = ids.accept(hostile)
            #expect(replaced != hostile)
            #expect(replaced.utf8.count == 32)
        }
    }
}
