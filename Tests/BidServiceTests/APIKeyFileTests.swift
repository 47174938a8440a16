import Foundation
import Testing

@testable import BidService

/// The key file's format, line by line, and the names of keys without one.
struct APIKeyFileTests {
    @Test func keysNamesQuotasAndCommentsAreRead() throws {
        let text = """
            # repricing job: large batches, limited
            alpha-secret name=repricer rate=100 burst=1000
            beta-secret   rate=5   # burst defaults to the rate

            gamma-secret name=web
            d1,d2
            """
        let keys = try APIKeyFile.parse(text, source: "F", defaultQuota: Quota(rate: 7, burst: 9))
        #expect(
            keys.map(\.name) == [
                "repricer", APIKey.anonymousName("beta-secret"), "web", APIKey.anonymousName("d1"),
                APIKey.anonymousName("d2"),
            ])
        #expect(
            keys.map(\.quota) == [
                Quota(rate: 100, burst: 1000), Quota(rate: 5, burst: 5), Quota(rate: 7, burst: 9),
                Quota(rate: 7, burst: 9),
                Quota(rate: 7, burst: 9),
            ])
        #expect(
            keys.map { String(decoding: $0.secret, as: UTF8.self) } == [
                "alpha-secret", "beta-secret", "gamma-secret", "d1", "d2",
            ])
    }

    @Test(arguments: [
        ("k1\nk2 rate=0", "F line 2: rate must be a whole number of bids from 1 to 1000000000, got '0'"),
        ("k1 burst=5", "F line 1: burst= needs rate="),
        ("\n\nk1 colour=red", "F line 3: unknown attribute 'colour' (expected name, rate or burst)"),
        ("k1 k2", "F line 1: 'k2' is not name=NAME, rate=R or burst=B (one key per line)"),
        ("k1 name=a b", "F line 1: 'b' is not name=NAME, rate=R or burst=B (one key per line)"),
        ("k1 name=bad/name", "F line 1: name must be 1 to 64 letters, digits, '_', '-' or '.', got 'bad/name'"),
        ("k1,k2 rate=5", "F line 1: a key with name=, rate= or burst= must be alone on its line"),
        ("k1\nk1", "F line 2: the same key is listed twice"),
        ("k1 name=x\nk2 name=x", "F line 2: the name 'x' is used twice"),
        ("k1 rate=5 rate=6", "F line 1: rate= given twice"),
        ("k1,,k2", "F line 1: an empty key between commas"),
        ("clé", "F line 1: a key must be printable ASCII without spaces"),
    ])
    func badLinesAreRefusedNamingTheLineAndWhy(text: String, message: String) {
        #expect(throws: (any Error).self) { try APIKeyFile.parse(text, source: "F", defaultQuota: nil) }
        do {
            _ = try APIKeyFile.parse(text, source: "F", defaultQuota: nil)
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test func aFileOfCommentsAndBlankLinesYieldsNoKey() throws {
        #expect(try APIKeyFile.parse("# none yet\n\n   \n", source: "F", defaultQuota: nil).isEmpty)
    }

    /// SHA-256 of "abc" and of "" (FIPS 180-4 examples); the anonymous name is its first 6 bytes.
    @Test func anonymousNamesArePrefixesOfSHA256() {
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        #expect(
            // pragma: allowlist nextline secret (the FIPS 180-4 test vector)
            hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // pragma: allowlist nextline secret (the digest of nothing)
        #expect(hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Array(String(repeating: "a", count: 1000).utf8)
        // pragma: allowlist nextline secret (the digest of 1,000 'a')
        #expect(hex(SHA256.hash(long)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        #expect(APIKey.anonymousName("abc") == "key-ba7816bf8f01")
    }

    @Test func theCallerIsTheKeyPresented() {
        let keys = APIKeys([APIKey(secret: "one", name: "first"), APIKey(secret: "two")])
        #expect(keys.caller(authorization: "Bearer one")?.name == "first")
        #expect(keys.caller(authorization: "Bearer two")?.name == APIKey.anonymousName("two"))
        #expect(keys.caller(authorization: "Bearer three") == nil)
    }
}
