/// Finds where one HTTP/1.1 response ends in received bytes, without copying them.
///
/// Enough of RFC 9112 for a load generator: status line, `Content-Length`, chunked transfer
/// coding (baselines may use it), `Connection: close`. Responses delimited only by the server
/// closing the connection are reported as unsupported: one request in flight per keep-alive
/// connection needs a length.
enum HTTPResponseScanner {
    enum Scan: Equatable {
        case incomplete
        /// `length` bytes make up the whole response; `close` when the server will close after it.
        case complete(status: Int, length: Int, close: Bool)
        case malformed(String)
    }

    static func scan(_ bytes: UnsafeRawBufferPointer) -> Scan {
        guard let headEnd = headerEnd(bytes) else {
            return bytes.count > 16_384 ? .malformed("response head larger than 16 KiB") : .incomplete
        }
        guard headEnd >= 12, bytes[0] == UInt8(ascii: "H"), bytes[8] == UInt8(ascii: " "),
            let status = threeDigits(bytes, at: 9)
        else { return .malformed("bad status line") }

        var contentLength: Int?
        var chunked = false
        var close = bytes[7] == UInt8(ascii: "0")  // HTTP/1.0 closes unless told otherwise
        var lineStart = lineEnd(bytes, from: 0, limit: headEnd) + 2
        while lineStart < headEnd - 2 {
            let end = lineEnd(bytes, from: lineStart, limit: headEnd)
            if let colon = firstIndex(of: UInt8(ascii: ":"), in: bytes, from: lineStart, to: end) {
                let value = trimmed(bytes, from: colon + 1, to: end)
                if nameEquals(bytes, lineStart, colon, "content-length") {
                    guard let length = decimal(bytes, value) else { return .malformed("bad Content-Length") }
                    contentLength = length
                } else if nameEquals(bytes, lineStart, colon, "transfer-encoding") {
                    chunked = contains(bytes, value, "chunked")
                } else if nameEquals(bytes, lineStart, colon, "connection") {
                    if contains(bytes, value, "close") { close = true }
                    if contains(bytes, value, "keep-alive") { close = false }
                }
            }
            lineStart = end + 2
        }

        if chunked {
            switch chunkedBodyEnd(bytes, from: headEnd) {
            case .some(.some(let end)): return .complete(status: status, length: end, close: close)
            case .some(.none): return .incomplete
            case .none: return .malformed("bad chunked body")
            }
        }
        if let contentLength {
            return bytes.count >= headEnd + contentLength
                ? .complete(status: status, length: headEnd + contentLength, close: close) : .incomplete
        }
        if status == 204 || status == 304 || (100..<200).contains(status) {
            return .complete(status: status, length: headEnd, close: close)
        }
        return .malformed("response without Content-Length or chunked coding (read-until-close is not supported)")
    }

    // MARK: Pieces

    /// Index just past `\r\n\r\n`, or nil.
    private static func headerEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = 3
        while index < bytes.count {
            if bytes[index] == 0x0A, bytes[index - 1] == 0x0D, bytes[index - 2] == 0x0A, bytes[index - 3] == 0x0D {
                return index + 1
            }
            index += 1
        }
        return nil
    }

    /// Index of the `\r` that ends the line starting at `from` (or `limit`).
    private static func lineEnd(_ bytes: UnsafeRawBufferPointer, from: Int, limit: Int) -> Int {
        var index = from
        while index + 1 < limit, !(bytes[index] == 0x0D && bytes[index + 1] == 0x0A) { index += 1 }
        return index
    }

    private static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from: Int, to end: Int) -> Int? {
        var index = from
        while index < end {
            if bytes[index] == byte { return index }
            index += 1
        }
        return nil
    }

    private static func trimmed(_ bytes: UnsafeRawBufferPointer, from: Int, to end: Int) -> Range<Int> {
        var start = from
        var stop = end
        while start < stop, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while stop > start, bytes[stop - 1] == 0x20 || bytes[stop - 1] == 0x09 { stop -= 1 }
        return start..<stop
    }

    /// ASCII case-insensitive comparison of a header name with a lower-case literal.
    private static func nameEquals(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ name: StaticString)
        -> Bool
    {
        guard end - start == name.utf8CodeUnitCount else { return false }
        let expected = name.utf8Start
        for offset in 0..<(end - start) where lowered(bytes[start + offset]) != expected[offset] { return false }
        return true
    }

    private static func contains(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ word: StaticString) -> Bool {
        let length = word.utf8CodeUnitCount
        guard range.count >= length else { return false }
        let expected = word.utf8Start
        outer: for start in range.lowerBound...(range.upperBound - length) {
            for offset in 0..<length where lowered(bytes[start + offset]) != expected[offset] { continue outer }
            return true
        }
        return false
    }

    @inline(__always)
    private static func lowered(_ byte: UInt8) -> UInt8 {
        (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
    }

    private static func threeDigits(_ bytes: UnsafeRawBufferPointer, at start: Int) -> Int? {
        var value = 0
        for index in start..<(start + 3) {
            let digit = Int(bytes[index]) - 0x30
            guard (0...9).contains(digit) else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    private static func decimal(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 15 else { return nil }
        var value = 0
        for index in range {
            let digit = Int(bytes[index]) - 0x30
            guard (0...9).contains(digit) else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    /// nil: malformed; .some(nil): needs more bytes; .some(end): the body ends at `end`.
    private static func chunkedBodyEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int?? {
        var position = start
        while true {
            let end = lineEnd(bytes, from: position, limit: bytes.count)
            guard end + 1 < bytes.count else { return .some(nil) }
            var size = 0
            var digits = 0
            var index = position
            while index < end, let digit = hexDigit(bytes[index]) {
                size = size * 16 + digit
                digits += 1
                index += 1
                if digits > 12 { return nil }
            }
            guard digits > 0 else { return nil }
            position = end + 2
            if size == 0 {
                // Trailer fields, then an empty line.
                while true {
                    let trailerEnd = lineEnd(bytes, from: position, limit: bytes.count)
                    guard trailerEnd + 1 < bytes.count else { return .some(nil) }
                    if trailerEnd == position { return .some(.some(position + 2)) }
                    position = trailerEnd + 2
                }
            }
            guard bytes.count >= position + size + 2 else { return .some(nil) }
            position += size + 2
        }
    }

    private static func hexDigit(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: return Int(byte - 0x30)
        case 0x61...0x66: return Int(byte - 0x61 + 10)
        case 0x41...0x46: return Int(byte - 0x41 + 10)
        default: return nil
        }
    }
}
