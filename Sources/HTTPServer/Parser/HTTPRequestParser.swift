/// BidEngine's own HTTP/1.1 request framing (RFC 9112): bytes in, requests or one error out.
///
/// Pure: no socket, no libevent, so every framing rule is unit-tested on byte strings. The
/// connection appends what it reads and calls `next()` until it returns nil (more bytes needed).
/// It is strict wherever a laxer reading could frame the same bytes differently from a proxy in
/// front (request smuggling): one `Content-Length` of digits only, `Transfer-Encoding` exactly
/// `chunked` and never with `Content-Length` or on HTTP/1.0, CRLF line ends only, no NUL or
/// other control bytes in a field value, no folded lines. The first failure is final: the
/// parser reports it once and then returns nil forever, so nothing after a bad message is ever
/// read as a request; the connection answers it and closes.
struct HTTPRequestParser {
    /// The size limits; each one bounds what a single client can make the server hold.
    struct Limits: Sendable {
        /// A longer request target gets 414.
        var maxRequestTargetLength = 8_192
        /// Header field lines (and, separately, chunked trailers) larger than this in total get 431.
        var maxHeadersSize = 16_384
        /// More header fields than this get 431.
        var maxHeaderCount = 100
        /// A larger body gets 413 unless its route has its own limit (`routeBodyLimit`): decided
        /// from `Content-Length` before the body is read, and for a chunked body as soon as the
        /// chunks pass the limit.
        var maxBodySize = 65_536
        /// The smallest route's own body limit, if any route has one: a `Content-Length` up to
        /// this and `maxBodySize` is within every limit and needs no route lookup.
        var smallestRouteBodyLimit: Int? = nil
    }

    /// A chunk-size line (size and extensions) longer than this gets 400.
    static let maxChunkLineLength = 1_024
    /// A consumed buffer larger than this is released rather than kept for the next request, so
    /// that an idle connection does not keep the memory of its largest request.
    static let retainedCapacity = 16_384

    enum Event {
        /// The head asks `Expect: 100-continue` and was accepted; the body has not arrived yet.
        case continueExpected
        case request(HTTPRequestMessage)
        /// The stream cannot be framed (or breaks a limit); nothing more will be parsed.
        case failure(HTTPRequestFailure)
    }

    private enum State {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(size: Int)
        case failed
    }

    let limits: Limits
    private var state = State.head
    private var buffer: [UInt8] = []
    /// Bytes before this offset are consumed.
    private var start = 0
    /// Head scanning resumes here, with what it learned so far.
    private var scan = HeadScan()
    /// The request whose body is being read.
    private var pending: HTTPRequestMessage?
    /// The limit of the chunked body being read, and the message of its 413.
    private var chunkedLimit = (bytes: 0, message: "")
    /// The route's own body limit for a request head, or nil for `maxBodySize`.
    private let routeBodyLimit: (HTTPRequestMessage) -> RouteBodyLimit?

    init(limits: Limits, routeBodyLimit: @escaping (HTTPRequestMessage) -> RouteBodyLimit? = { _ in nil }) {
        self.limits = limits
        self.routeBodyLimit = routeBodyLimit
    }

    /// Buffered bytes not yet consumed by a request.
    var bufferedCount: Int { buffer.count - start }

    /// Bytes the parser's buffer holds allocated.
    var bufferCapacity: Int { buffer.capacity }

    /// Between messages with nothing buffered: the connection is idle.
    var isIdle: Bool {
        if case .head = state { return bufferedCount == 0 }
        return false
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        if case .failed = state { return }
        compact()
        buffer.append(contentsOf: bytes)
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next event, or nil when more bytes are needed (or after a failure).
    mutating func next() -> Event? {
        while true {
            switch state {
            case .failed:
                return nil
            case .head:
                switch parseHead() {
                case .none: return nil
                case .some(.failure(let failure)): return fail(failure)
                case .some(.success(let message)):
                    if let event = beginBody(message) { return event }
                }
            case .fixedBody(let remaining):
                guard bufferedCount >= remaining else { return nil }
                pending!.body.append(contentsOf: buffer[start..<start + remaining])
                start += remaining
                return finishMessage()
            case .chunkSize:
                switch takeLine(maxLength: Self.maxChunkLineLength, tooLong: 400, "chunk line too long") {
                case .none: return nil
                case .some(.failure(let failure)): return fail(failure)
                case .some(.success(let line)):
                    guard let size = Self.chunkSize(line) else {
                        return fail(.init(status: 400, message: "invalid chunk size", request: pending))
                    }
                    if size == 0 {
                        state = .trailers(size: 0)
                    } else if size > chunkedLimit.bytes - pending!.body.count {
                        return fail(.init(status: 413, message: chunkedLimit.message, request: pending))
                    } else {
                        state = .chunkData(remaining: size)
                    }
                }
            case .chunkData(let remaining):
                let count = min(remaining, bufferedCount)
                guard count > 0 else { return nil }
                pending!.body.append(contentsOf: buffer[start..<start + count])
                start += count
                state = count == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - count)
            case .chunkDataEnd:
                guard bufferedCount >= 2 else { return nil }
                guard buffer[start] == Self.cr, buffer[start + 1] == Self.lf else {
                    return fail(.init(status: 400, message: "chunk data not followed by CRLF", request: pending))
                }
                start += 2
                state = .chunkSize
            case .trailers(let size):
                // The trailer lines with their CRLFs fit `maxHeadersSize`, as header lines do.
                let budget = max(0, limits.maxHeadersSize - size - 2)
                switch takeLine(maxLength: budget, tooLong: 431, "trailer fields too large") {
                case .none: return nil
                case .some(.failure(let failure)): return fail(failure)
                case .some(.success(let line)):
                    if line.isEmpty { return finishMessage() }
                    // Trailer fields are read for framing only and then discarded.
                    guard Self.field(line) != nil else {
                        return fail(.init(status: 400, message: "invalid trailer field", request: pending))
                    }
                    state = .trailers(size: size + line.count + 2)
                }
            }
        }
    }

    // MARK: Messages

    private mutating func fail(_ failure: HTTPRequestFailure) -> Event {
        state = .failed
        pending = nil
        buffer = []
        start = 0
        return .failure(failure)
    }

    private mutating func finishMessage() -> Event {
        state = .head
        scan = HeadScan()
        let message = pending!
        pending = nil
        if start == buffer.count, buffer.capacity > Self.retainedCapacity {
            buffer = []
            start = 0
        }
        return .request(message)
    }

    /// The body limit for `message` and the message of its 413: its route's own, or `maxBodySize`.
    private func bodyLimit(for message: HTTPRequestMessage) -> (bytes: Int, message: String) {
        if let limit = routeBodyLimit(message) { return (limit.bytes, limit.tooLargeMessage) }
        return (limits.maxBodySize, "request body too large")
    }

    /// Decides the body's framing from the head (RFC 9112 §6.3) and enters the matching state;
    /// returns the event to report now, or nil to go on parsing.
    private mutating func beginBody(_ message: HTTPRequestMessage) -> Event? {
        pending = message
        let headers = message.headers
        var contentLengths: [String] = []
        var codings: [String] = []
        var hosts = 0
        var expectation: String?
        for (name, value) in headers {
            if HTTPHeaders.equalIgnoringASCIICase(name, "Content-Length") {
                contentLengths.append(value)
            } else if HTTPHeaders.equalIgnoringASCIICase(name, "Transfer-Encoding") {
                codings.append(value)
            } else if HTTPHeaders.equalIgnoringASCIICase(name, "Host") {
                hosts += 1
            } else if HTTPHeaders.equalIgnoringASCIICase(name, "Expect") {
                expectation = value
            }
        }
        if hosts > 1 || (hosts == 0 && !message.isHTTP10) {
            return fail(.init(status: 400, message: "exactly one Host header is required", request: message))
        }
        var expectsBody = false
        if !codings.isEmpty {
            if message.isHTTP10 {
                return fail(.init(status: 400, message: "chunked framing on HTTP/1.0", request: message))
            }
            if !contentLengths.isEmpty {
                return fail(
                    .init(status: 400, message: "Content-Length together with Transfer-Encoding", request: message))
            }
            let list = codings.joined(separator: ",").split(separator: ",", omittingEmptySubsequences: false)
            guard list.count == 1, HTTPHeaders.equalIgnoringASCIICase(Self.trimmed(list[0]), "chunked") else {
                return fail(.init(status: 501, message: "unsupported Transfer-Encoding", request: message))
            }
            chunkedLimit = bodyLimit(for: message)
            state = .chunkSize
            expectsBody = true
        } else if !contentLengths.isEmpty {
            guard contentLengths.count == 1 else {
                return fail(.init(status: 400, message: "more than one Content-Length", request: message))
            }
            guard let length = Self.contentLength(contentLengths[0]) else {
                return fail(.init(status: 400, message: "invalid Content-Length", request: message))
            }
            if length > min(limits.maxBodySize, limits.smallestRouteBodyLimit ?? .max) {
                let limit = bodyLimit(for: message)
                guard length <= limit.bytes else {
                    return fail(.init(status: 413, message: limit.message, request: message))
                }
            }
            state = .fixedBody(remaining: length)
            expectsBody = length > 0
        } else {
            state = .fixedBody(remaining: 0)
        }
        if let expectation {
            guard HTTPHeaders.equalIgnoringASCIICase(expectation, "100-continue") else {
                return fail(.init(status: 417, message: "unsupported Expect", request: message))
            }
            if expectsBody, !message.isHTTP10, bufferedCount == 0 { return .continueExpected }
        }
        return nil
    }

    // MARK: Head

    /// Where head scanning stands: offsets are absolute in `buffer` and shift with `compact()`.
    private struct HeadScan {
        /// Next byte to look at.
        var position = 0
        var lineStart = 0
        /// End (offset of CR) of the request line, once seen.
        var requestLineEnd: Int?
        var fieldLines = 0
        var started = false
    }

    /// A whole head parsed, a failure, or nil while the head is incomplete.
    private mutating func parseHead() -> Result<HTTPRequestMessage, HTTPRequestFailure>? {
        if !scan.started {
            // RFC 9112 §2.2: empty lines before a request line are ignored.
            while bufferedCount >= 2, buffer[start] == Self.cr, buffer[start + 1] == Self.lf { start += 2 }
            if bufferedCount == 0 || (bufferedCount == 1 && buffer[start] == Self.cr) { return nil }
            scan = HeadScan(position: start, lineStart: start, started: true)
        }
        let requestLineLimit = limits.maxRequestTargetLength + 32
        while scan.position < buffer.count {
            let index = scan.position
            scan.position += 1
            guard buffer[index] == Self.lf else { continue }
            guard index > scan.lineStart, buffer[index - 1] == Self.cr else {
                return .failure(.init(status: 400, message: "line not ended by CRLF"))
            }
            let lineEnd = index - 1
            if scan.requestLineEnd == nil {
                if lineEnd - start > requestLineLimit { return .failure(.init(status: 414, message: "URI too long")) }
                // Without a version (HTTP/0.9's `GET /`) no head follows to wait for.
                guard Self.requestLineSpaces(buffer[start..<lineEnd]) != nil else {
                    return .failure(.init(status: 400, message: "malformed request line"))
                }
                scan.requestLineEnd = lineEnd
            } else if lineEnd == scan.lineStart {
                if lineEnd - (scan.requestLineEnd! + 2) > limits.maxHeadersSize {
                    return .failure(.init(status: 431, message: "header fields too large"))
                }
                let head = start
                start = index + 1
                return parseMessage(head: head, requestLineEnd: scan.requestLineEnd!, headEnd: lineEnd)
            } else {
                scan.fieldLines += 1
                if scan.fieldLines > limits.maxHeaderCount {
                    return .failure(.init(status: 431, message: "too many header fields"))
                }
            }
            scan.lineStart = index + 1
        }
        if let requestLineEnd = scan.requestLineEnd {
            // An unfinished head may end in "\r\n\r" that its final size will not count.
            if buffer.count - (requestLineEnd + 2) > limits.maxHeadersSize + 3 {
                return .failure(.init(status: 431, message: "header fields too large"))
            }
        } else if buffer.count - start > requestLineLimit + 1 {
            return .failure(.init(status: 414, message: "URI too long"))
        }
        return nil
    }

    private func parseMessage(head: Int, requestLineEnd: Int, headEnd: Int) -> Result<
        HTTPRequestMessage, HTTPRequestFailure
    > {
        buffer.withUnsafeBufferPointer { bytes in
            let line = bytes[head..<requestLineEnd]
            guard let (firstSpace, secondSpace) = Self.requestLineSpaces(line) else {
                return .failure(.init(status: 400, message: "malformed request line"))
            }
            let methodBytes = line[..<firstSpace]
            let target = line[(firstSpace + 1)..<secondSpace]
            let version = line[(secondSpace + 1)...]
            guard !methodBytes.isEmpty, methodBytes.allSatisfy(Self.isTokenByte) else {
                return .failure(.init(status: 400, message: "malformed request line"))
            }
            let isHTTP10: Bool
            if version.elementsEqual("HTTP/1.1".utf8) {
                isHTTP10 = false
            } else if version.elementsEqual("HTTP/1.0".utf8) {
                isHTTP10 = true
            } else if version.count == 8, version.starts(with: "HTTP/".utf8),
                Self.isDigit(version[version.startIndex + 5]), version[version.startIndex + 6] == UInt8(ascii: "."),
                Self.isDigit(version[version.startIndex + 7])
            {
                return .failure(.init(status: 505, message: "HTTP version not supported"))
            } else {
                return .failure(.init(status: 400, message: "malformed request line"))
            }
            guard !target.isEmpty, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                return .failure(.init(status: 400, message: "malformed request target"))
            }
            guard target.count <= limits.maxRequestTargetLength else {
                return .failure(.init(status: 414, message: "URI too long"))
            }
            let methodText = String(decoding: methodBytes, as: UTF8.self)
            guard let method = HTTPMethod(token: methodText) else {
                // TRACE is a method every server knows and this one never allows: 405 with `Allow`.
                if methodText == "TRACE", let (path, _) = Self.originForm(target, method: .other) {
                    return .failure(.init(status: 405, message: "TRACE not allowed", method: .other, path: path))
                }
                return .failure(
                    .init(status: 501, message: "method not implemented", path: String(decoding: target, as: UTF8.self))
                )
            }
            guard let (path, query) = Self.originForm(target, method: method) else {
                return .failure(.init(status: 400, message: "malformed request target", method: method))
            }
            var headers: [(String, String)] = []
            headers.reserveCapacity(scan.fieldLines)
            var lineStart = requestLineEnd + 2
            while lineStart < headEnd {
                var lineEnd = lineStart
                // A bare CR inside the line is not its end: the field check refuses it.
                while bytes[lineEnd] != Self.cr || bytes[lineEnd + 1] != Self.lf { lineEnd += 1 }
                guard let field = Self.field(bytes[lineStart..<lineEnd]) else {
                    return .failure(.init(status: 400, message: "invalid header field", method: method, path: path))
                }
                headers.append(field)
                lineStart = lineEnd + 2
            }
            let connection = headers.lazy.filter { HTTPHeaders.equalIgnoringASCIICase($0.0, "Connection") }
                .flatMap { $0.1.split(separator: ",").map(Self.trimmed) }
            let close = connection.contains { HTTPHeaders.equalIgnoringASCIICase($0, "close") }
            let keepAliveToken = connection.contains { HTTPHeaders.equalIgnoringASCIICase($0, "keep-alive") }
            return .success(
                HTTPRequestMessage(
                    method: method, path: path, query: query, headers: headers, body: [],
                    keepAlive: !close && (!isHTTP10 || keepAliveToken), isHTTP10: isHTTP10))
        }
    }

    /// The offsets of the two spaces that separate method, target and version; nil if the line
    /// has fewer.
    static func requestLineSpaces<Line: Collection<UInt8>>(_ line: Line) -> (Line.Index, Line.Index)? {
        guard let first = line.firstIndex(of: space),
            let second = line[line.index(after: first)...].firstIndex(of: space)
        else { return nil }
        return (first, second)
    }

    /// Path and query of an origin-form target (`/p?q`); an absolute-form one (`http://h/p?q`,
    /// which servers must accept) is reduced to it; `*` only for OPTIONS. Nil for anything else.
    private static func originForm<Target: Collection<UInt8>>(
        _ target: Target, method: HTTPMethod
    ) -> (String, String)? {
        // The target is visible ASCII (checked before), so bytes and characters are the same.
        var rest = target[...]
        if rest.count == 1, rest.first == UInt8(ascii: "*") { return method == .OPTIONS ? ("*", "") : nil }
        if rest.first != UInt8(ascii: "/") {
            if ASCIICase.hasPrefix(rest, lowercase: "http://") {
                rest = rest.dropFirst(7)
            } else if ASCIICase.hasPrefix(rest, lowercase: "https://") {
                rest = rest.dropFirst(8)
            } else {
                return nil
            }
            guard let pathStart = rest.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) else {
                return ("/", "")
            }
            guard pathStart > rest.startIndex else { return nil }
            rest = rest[pathStart...]
        }
        guard !rest.contains(UInt8(ascii: "#")) else { return nil }
        guard let question = rest.firstIndex(of: UInt8(ascii: "?")) else {
            return (rest.isEmpty ? "/" : String(decoding: rest, as: UTF8.self), "")
        }
        let path = rest[..<question]
        return (
            path.isEmpty ? "/" : String(decoding: path, as: UTF8.self),
            String(decoding: rest[rest.index(after: question)...], as: UTF8.self)
        )
    }

    // MARK: Lines and fields

    /// The next CRLF-ended line (without its CRLF) for chunk sizes and trailers, or a failure with
    /// `status` and `message` when more than `maxLength` bytes precede its CRLF. Decided from the
    /// first `maxLength + 2` bytes alone, so the answer does not depend on how much of the line
    /// has arrived.
    private mutating func takeLine(
        maxLength: Int, tooLong status: Int, _ message: String
    ) -> Result<ArraySlice<UInt8>, HTTPRequestFailure>? {
        var index = start
        let end = min(buffer.count, start + maxLength + 2)
        while index < end {
            if buffer[index] == Self.lf {
                guard index > start, buffer[index - 1] == Self.cr else {
                    return .failure(.init(status: 400, message: "line not ended by CRLF", request: pending))
                }
                let line = buffer[start..<(index - 1)]
                start = index + 1
                return .success(line)
            }
            index += 1
        }
        if bufferedCount >= maxLength + 2 {
            return .failure(.init(status: status, message: message, request: pending))
        }
        return nil
    }

    /// `name: OWS value OWS` with a token name and a value of visible bytes, spaces, tabs and
    /// obs-text only: a NUL, a bare CR, any other control byte, a space before the colon or a
    /// folded line (which starts with a space) make it invalid.
    static func field<Bytes: Collection<UInt8>>(_ line: Bytes) -> (String, String)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else { return nil }
        var value = line[line.index(after: colon)...]
        while let first = value.first, first == space || first == tab { value = value.dropFirst() }
        guard value.allSatisfy({ $0 == tab || ($0 >= 0x20 && $0 != 0x7F) }) else { return nil }
        var text = String(decoding: value, as: UTF8.self)
        while let last = text.utf8.last, last == space || last == tab { text.removeLast() }
        return (String(decoding: name, as: UTF8.self), text)
    }

    /// 1–18 decimal digits, nothing else (no sign, no list, no spaces inside).
    static func contentLength(_ value: String) -> Int? {
        let digits = value.utf8
        guard (1...18).contains(digits.count), digits.allSatisfy(isDigit) else { return nil }
        return Int(value)
    }

    /// `1*HEXDIG [ BWS ; chunk-ext ]`: at most 15 hex digits (no overflow), extensions ignored
    /// but free of control bytes.
    static func chunkSize(_ line: ArraySlice<UInt8>) -> Int? {
        var size = 0
        var digits = 0
        var index = line.startIndex
        while index < line.endIndex, let digit = hexValue(line[index]) {
            size = size << 4 | digit
            digits += 1
            index += 1
        }
        guard (1...15).contains(digits) else { return nil }
        let rest = line[index...].drop { $0 == space || $0 == tab }
        if rest.isEmpty { return size }
        guard rest.first == UInt8(ascii: ";"), rest.allSatisfy({ $0 == tab || ($0 >= 0x20 && $0 != 0x7F) }) else {
            return nil
        }
        return size
    }

    // MARK: Bytes

    private mutating func compact() {
        guard start > 0, start == buffer.count || start >= 4_096 else { return }
        if case .head = state, scan.started { return }
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= Self.retainedCapacity)
        } else {
            buffer.removeSubrange(0..<start)
        }
        start = 0
    }

    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: Int(byte - 0x30)
        case 0x41...0x46: Int(byte - 0x41 + 10)
        case 0x61...0x66: Int(byte - 0x61 + 10)
        default: nil
        }
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    static func trimmed(_ text: Substring) -> Substring {
        var result = text
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
