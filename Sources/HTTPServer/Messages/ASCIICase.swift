/// Case-insensitive comparison of protocol tokens (header names, schemes, media types) as
/// bytes. Folding bit 0x20 is only valid for letters, so only `A`–`Z` are lowered.
public enum ASCIICase {
    @inlinable @inline(__always)
    public static func lowered(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    /// Whether `bytes` begins with `lowercase` (a literal without capitals) in any case.
    @inlinable
    public static func hasPrefix(_ bytes: some Collection<UInt8>, lowercase: StaticString) -> Bool {
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        guard bytes.count >= expected.count else { return false }
        return zip(bytes, expected).allSatisfy { lowered($0) == $1 }
    }

    /// Whether `bytes` is `lowercase` (a literal without capitals) in any case.
    @inlinable
    public static func equals(_ bytes: some Collection<UInt8>, lowercase: StaticString) -> Bool {
        bytes.count == lowercase.utf8CodeUnitCount && hasPrefix(bytes, lowercase: lowercase)
    }
}
