internal import Glibc

/// Request ids: the client's `X-Request-ID` when it is a sane token (1–128 of `A-Z a-z 0-9 - _ . :`),
/// so that a hostile header cannot inject into logs; otherwise a fresh random one, 128 bits from
/// the kernel's CSPRNG as 32 hex digits.
///
/// The same pool supplies the random bits of new trace and span ids (`next64`).
///
/// One per loop, loop-thread only. The random bytes are read 4 KiB (256 ids) at a time: a
/// `getrandom` call per id cost about 8 % of the server's CPU per bid (docs/performance.md); the
/// bits are the same kernel randomness either way.
struct RequestID {
    private var pool = [UInt8](repeating: 0, count: 4_096)
    private var used = 4_096

    mutating func accept(_ candidate: String?) -> String {
        if let candidate, Self.isValid(candidate) { return candidate }
        return generate()
    }

    static func isValid(_ candidate: String) -> Bool {
        let bytes = candidate.utf8
        guard (1...128).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: ":"):
                return true
            default:
                return false
            }
        }
    }

    /// 128 fresh random bits as 32 lowercase hex digits.
    mutating func generate() -> String {
        if used + 16 > pool.count { refill() }
        let start = used
        used += 16
        return pool.withUnsafeBufferPointer { pool in
            String(unsafeUninitializedCapacity: 32) { text in
                for index in 0..<16 {
                    let byte = pool[start + index]
                    text[2 * index] = Self.hexDigits[Int(byte >> 4)]
                    text[2 * index + 1] = Self.hexDigits[Int(byte & 0x0F)]
                }
                return 32
            }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// 64 fresh random bits from the same pool, for trace and span ids.
    mutating func next64() -> UInt64 {
        if used + 8 > pool.count { refill() }
        var value: UInt64 = 0
        for index in used..<used + 8 { value = value << 8 | UInt64(pool[index]) }
        used += 8
        return value
    }

    /// 64 random bits that are not all zero (an all-zero trace or span id is invalid).
    mutating func nonZero64() -> UInt64 {
        while true {
            let value = next64()
            if value != 0 { return value }
        }
    }

    /// From `/dev/urandom` (`getrandom` is not in Swift's Glibc module); the standard library's
    /// generator, which reads the same source, if it cannot be read.
    private mutating func refill() {
        pool.withUnsafeMutableBytes { bytes in
            var filled = 0
            let source = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
            if source >= 0 {
                defer { close(source) }
                while filled < bytes.count {
                    let count = read(source, bytes.baseAddress! + filled, bytes.count - filled)
                    if count > 0 {
                        filled += count
                    } else if count < 0, errno == EINTR {
                        continue
                    } else {
                        break
                    }
                }
            }
            var generator = SystemRandomNumberGenerator()
            for index in filled..<bytes.count { bytes[index] = generator.next() }
        }
        used = 0
    }
}
