import Foundation
import ServiceTestSupport
import Testing

@testable import BidService
@testable import JSONRoutes
@testable import TextFormats

/// The history routes' parsers, without a socket or a database.
struct BidHistoryParsingTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"),
        ("2025-11-25T02:06:00.123456Z", "2025-11-25T02:06:00.123456Z"),
        ("2025-11-25T02:06:00.1Z", "2025-11-25T02:06:00.100000Z"),
        ("2025-11-25T03:06:00+01:00", "2025-11-25T02:06:00.000000Z"),
        ("2025-11-24T21:36:00-04:30", "2025-11-25T02:06:00.000000Z"),
        ("2025-01-01T00:30:00+01:00", "2024-12-31T23:30:00.000000Z"),
        ("2024-02-29t23:59:59.9999991z", "2024-03-01T00:00:00.000000Z"),
        ("2024-02-29 12:00:00 02:00", "2024-02-29T10:00:00.000000Z"),
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00.000000Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"),
        ("1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z"),
        ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"),
    ])
    func timestampsBecomeCanonicalUTC(text: String, canonical: String) {
        #expect(RFC3339Timestamp(parsing: text)?.canonicalText == canonical)
    }

    @Test(arguments: [
        "", "2025-11-25", "2025-11-25T02:06:00", "2025-11-25T02:06Z", "2025-11-25T2:06:00Z", "2025-13-01T00:00:00Z",
        "2025-00-01T00:00:00Z", "2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2025-04-31T00:00:00Z",
        "2025-01-01T24:00:00Z", "2025-01-01T00:60:00Z", "2025-01-01T00:00:61Z", "2025-01-01T00:00:00.Z",
        "2025-01-01T00:00:00+0100", "2025-01-01T00:00:00+24:00", "2025-01-01T00:00:00Z ", " 2025-01-01T00:00:00Z",
        "2025-01-01X00:00:00Z", "+2025-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00+00:01",
        "9999-12-31T23:59:59.9999991Z", "10000-01-01T00:00:00Z", "２０２５-01-01T00:00:00Z",
    ])
    func malformedOrOutOfRangeTimestampsAreRejected(text: String) {
        #expect(RFC3339Timestamp(parsing: text) == nil)
    }

    /// From 1600 on: before the 1582 reform Foundation switches to the Julian calendar, while
    /// RFC 3339 and PostgreSQL use the proleptic Gregorian one.
    /// Seeded: a failure names the seed, and `TEST_RANDOM_SEED=<seed>` replays the same instants.
    @Test func theCalendarAgreesWithFoundationForRandomInstants() throws {
        let seed = SeededRandomNumberGenerator.seedFromEnvironment()
        var generator = SeededRandomNumberGenerator(seed: seed)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        for _ in 0..<2000 {
            let seconds = Int64.random(in: -11_676_096_000...253_402_300_799, using: &generator)
            let text = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            let replay = "\(text), TEST_RANDOM_SEED=\(seed)"
            let parsed = try #require(RFC3339Timestamp(parsing: text), "\(replay)")
            #expect(parsed.microsecondsSinceEpoch == seconds * 1_000_000, "\(replay)")
            #expect(parsed.canonicalText == text.dropLast() + ".000000Z", "\(replay)")
        }
    }

    @Test func cursorsRoundTripAndRejectTampering() throws {
        let cursor = KeysetCursor(
            listing: .bids, timestamp: try #require(RFC3339Timestamp(parsing: "2025-06-01T12:00:00.000002Z")), id: 22)
        #expect(
            Base64URL.decode(cursor.encoded).map { String(decoding: $0, as: UTF8.self) }
                == "bids|2025-06-01T12:00:00.000002Z|22")
        #expect(KeysetCursor(decoding: cursor.encoded, for: .bids) == cursor)
        // Bound to its listing: the competitor prices refuse it.
        #expect(KeysetCursor(decoding: cursor.encoded, for: .competitorPrices) == nil)
        #expect(!cursor.encoded.contains("="))
        for bad in [
            "", "!", "a", cursor.encoded + "A", cursor.encoded.replacingOccurrences(of: "M", with: "+"),
            Base64URL.encode(Array("bids|2025-06-01T12:00:00Z|".utf8)),
            Base64URL.encode(Array("bids|2025-06-01T12:00:00Z|-1".utf8)),
            Base64URL.encode(Array("bids|2025-06-01T12:00:00Z|9223372036854775808".utf8)),
            Base64URL.encode(Array("bids||22".utf8)),
            Base64URL.encode(Array("2025-06-01T12:00:00Z|22".utf8)),
            Base64URL.encode(Array("competitor-prices|2025-06-01T12:00:00Z|22".utf8)),
        ] {
            #expect(KeysetCursor(decoding: bad, for: .bids) == nil, "\(bad)")
        }
    }

    @Test func base64URLMatchesFoundation() {
        let seed = SeededRandomNumberGenerator.seedFromEnvironment()
        var generator = SeededRandomNumberGenerator(seed: seed)
        for length in 0..<64 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let expected = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == expected, "TEST_RANDOM_SEED=\(seed)")
            #expect(Base64URL.decode(expected) == bytes, "TEST_RANDOM_SEED=\(seed)")
        }
        // Spare bits must be zero: "QR" and "QQ" would otherwise both mean "A".
        #expect(Base64URL.decode("QQ") == Array("A".utf8))
        #expect(Base64URL.decode("QR") == nil)
    }

    @Test func onlyJSONNumberLexemesPassThroughVerbatim() {
        for good in [
            "0", "-0", "1.50", "123", "0.000000000000000001", "12345678901234567890.123456789", "1e3", "1E-2", "-0.5",
        ] {
            #expect(JSONNumber.matches(good), "\(good)")
        }
        for bad in ["", "NaN", "Infinity", "-Infinity", "01", ".5", "5.", "+1", "1e", "1.5.2", " 1", "0x10", "-"] {
            #expect(!JSONNumber.matches(bad), "\(bad)")
        }
    }

    @Test func queriesBindEveryParameter() throws {
        let parsed = try BidHistoryQuery.parse([
            "product_id": "1e3", "since": "2025-01-01T01:00:00+01:00", "limit": "7",
        ]).get()
        #expect(
            parsed.parameters == [
                "1000", "2025-01-01T00:00:00.000000Z", "infinity", "infinity", "9223372036854775807", "8",
            ])
        #expect(try BidHistoryQuery.parse(["product_id": "5"]).get().limit == 100)
    }
}
