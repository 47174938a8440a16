import Foundation

/// The `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
enum RetryAfter {
    /// How long the server asks us to wait, measured from `now`; nil when the value is neither
    /// form (the header is then ignored and the usual backoff applies). A date in the past is zero.
    static func delay(_ value: String, now: Date = Date()) -> Duration? {
        let text = value.trimmedOfSpaces()
        if !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            // Absurd values saturate: they exceed any cap and end the run rather than overflow.
            guard text.count <= 9, let seconds = Int64(text) else { return .seconds(999_999_999) }
            return .seconds(seconds)
        }
        guard let epochSeconds = HTTPDate.epochSeconds(String(text), now: now) else { return nil }
        let remaining = Double(epochSeconds) - now.timeIntervalSince1970
        return remaining > 0 ? .milliseconds(Int64((remaining * 1000).rounded(.up))) : .zero
    }
}
