/// The bytes of a response's status line and header section.
///
/// Every reply carries `X-Request-ID`, `X-Content-Type-Options: nosniff`, `Date` and (except
/// where RFC 9110 forbids a body) `Content-Length`, so that the client always knows where the
/// reply ends; a handler's own `Content-Length`, `Transfer-Encoding` or `Connection` is replaced.
enum HTTPResponseHead {
    static func serialize(
        status: Int, headers: [(String, String)], bodyCount: Int, requestID: String, date: [UInt8],
        connection: String?
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(224 + headers.count * 40)
        append("HTTP/1.1 ", to: &bytes)
        append(String(status), to: &bytes)
        bytes.append(UInt8(ascii: " "))
        append(ReasonPhrase.text(for: status), to: &bytes)
        bytes.append(contentsOf: crlf)
        for (name, value) in headers where !isFraming(name) {
            appendField(name, value, to: &bytes)
        }
        appendField("X-Request-ID", requestID, to: &bytes)
        append("X-Content-Type-Options: nosniff\r\nDate: ", to: &bytes)
        bytes.append(contentsOf: date)
        bytes.append(contentsOf: crlf)
        if let connection { appendField("Connection", connection, to: &bytes) }
        if allowsBody(status) { appendField("Content-Length", String(bodyCount), to: &bytes) }
        bytes.append(contentsOf: crlf)
        return bytes
    }

    /// 1xx, 204 and 304 replies have neither a body nor a `Content-Length`.
    static func allowsBody(_ status: Int) -> Bool {
        status >= 200 && status != 204 && status != 304
    }

    private static let crlf: [UInt8] = [13, 10]

    private static func isFraming(_ name: String) -> Bool {
        HTTPHeaders.equalIgnoringASCIICase(name, "Content-Length")
            || HTTPHeaders.equalIgnoringASCIICase(name, "Transfer-Encoding")
            || HTTPHeaders.equalIgnoringASCIICase(name, "Connection")
    }

    private static func appendField(_ name: String, _ value: String, to bytes: inout [UInt8]) {
        append(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        bytes.append(UInt8(ascii: " "))
        append(value, to: &bytes)
        bytes.append(contentsOf: crlf)
    }

    /// A string's bytes copied whole: appending its `utf8` view goes byte by byte.
    private static func append(_ text: String, to bytes: inout [UInt8]) {
        if text.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
            bytes.append(contentsOf: text.utf8)
        }
    }
}
