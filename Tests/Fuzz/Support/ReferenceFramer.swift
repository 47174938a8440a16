/// A second, deliberately plain reading of RFC 9112 request framing, for the `http-request`
/// fuzzer's differential property: the server must frame the same bytes into the same requests.
///
/// Written from the RFC rather than from `HTTPRequestParser`: whole-input string operations, no
/// incremental state. What it does not model (absolute-form targets) ends the comparison.
struct ReferenceFramer {
    enum Ending: Equatable {
        /// Every byte belonged to a complete message, or the last one closed the connection.
        case clean
        /// A message the server must refuse (and then close).
        case refused
        /// The input ends inside a message: the server may refuse it early or wait.
        case incomplete
        /// Something this reference does not model.
        case unknown
    }

    struct Framing {
        /// Methods of the complete, acceptable requests, in order.
        var methods: [String] = []
        var ending = Ending.clean
    }

    let maxBodySize: Int
    let maxHeadersSize: Int
    let maxHeaderCount = 100
    let maxTargetLength = 8_192

    func frame(_ input: [UInt8]) -> Framing {
        var framing = Framing()
        var rest = input[...]
        while true {
            while rest.starts(with: [13, 10]) { rest = rest.dropFirst(2) }
            if rest.isEmpty || rest == [13] { return framing }
            guard let headEnd = find([13, 10, 13, 10], in: rest) else {
                framing.ending = incompleteHead(rest)
                return framing
            }
            let lines = split(rest[rest.startIndex..<headEnd])
            rest = rest[(headEnd + 4)...]
            if lines.contains(where: { $0.contains(10) }) { return ending(framing, .refused) }
            let requestLine = lines[0].split(separator: 32, omittingEmptySubsequences: false)
            guard requestLine.count == 3 else { return ending(framing, .refused) }
            let method = String(decoding: requestLine[0], as: UTF8.self)
            let target = String(decoding: requestLine[1], as: UTF8.self)
            let version = String(decoding: requestLine[2], as: UTF8.self)
            guard version == "HTTP/1.1" || version == "HTTP/1.0" else { return ending(framing, .refused) }
            guard !target.isEmpty, requestLine[1].allSatisfy({ $0 > 32 && $0 < 127 }) else {
                return ending(framing, .refused)
            }
            guard ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"].contains(method) else {
                return ending(framing, .refused)
            }
            if !target.hasPrefix("/") {
                if target == "*" && method == "OPTIONS" {
                } else if target.lowercased().hasPrefix("http://") || target.lowercased().hasPrefix("https://") {
                    return ending(framing, .unknown)
                } else {
                    return ending(framing, .refused)
                }
            }
            if target.contains("#") { return ending(framing, .refused) }
            var fields: [(String, String)] = []
            for line in lines.dropFirst() {
                guard let field = field(line) else { return ending(framing, .refused) }
                fields.append(field)
            }
            let fieldBytes = lines.dropFirst().reduce(0) { $0 + $1.count + 2 }
            if fields.count > maxHeaderCount || fieldBytes > maxHeadersSize { return ending(framing, .refused) }
            func values(_ name: String) -> [String] {
                fields.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
            }
            let http10 = version == "HTTP/1.0"
            let hosts = values("Host").count
            if hosts > 1 || (hosts == 0 && !http10) { return ending(framing, .refused) }
            if let expect = values("Expect").last, expect.lowercased() != "100-continue" {
                return ending(framing, .refused)
            }
            let codings = values("Transfer-Encoding")
            let lengths = values("Content-Length")
            var body: Int?
            if !codings.isEmpty {
                if http10 || !lengths.isEmpty { return ending(framing, .refused) }
                let list = codings.joined(separator: ",").split(separator: ",", omittingEmptySubsequences: false)
                guard list.count == 1, list[0].trimmingOWS.lowercased() == "chunked" else {
                    return ending(framing, .refused)
                }
                switch chunkedBody(&rest) {
                case .refused: return ending(framing, .refused)
                case .incomplete: return ending(framing, .incomplete)
                case .complete: body = nil
                }
            } else if !lengths.isEmpty {
                guard lengths.count == 1, (1...18).contains(lengths[0].utf8.count),
                    lengths[0].utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let length = Int(lengths[0])
                else { return ending(framing, .refused) }
                if length > maxBodySize { return ending(framing, .refused) }
                body = length
            }
            if let body {
                guard rest.count >= body else { return ending(framing, .incomplete) }
                rest = rest.dropFirst(body)
            }
            framing.methods.append(method)
            let connection = values("Connection").joined(separator: ",").split(separator: ",").map {
                $0.trimmingOWS.lowercased()
            }
            if connection.contains("close") || (http10 && !connection.contains("keep-alive")) { return framing }
        }
    }

    private enum Chunks {
        case complete, refused, incomplete
    }

    private enum Line {
        case line(ArraySlice<UInt8>)
        case failed(Chunks)
    }

    /// The next CRLF-ended line of a chunked body; a bare LF before it refuses the message.
    private func takeLine(_ rest: inout ArraySlice<UInt8>) -> Line {
        guard let lineEnd = find([13, 10], in: rest) else { return .failed(rest.contains(10) ? .refused : .incomplete) }
        let line = rest[rest.startIndex..<lineEnd]
        if line.contains(10) { return .failed(.refused) }
        rest = rest[(lineEnd + 2)...]
        return .line(line)
    }

    private func chunkedBody(_ rest: inout ArraySlice<UInt8>) -> Chunks {
        var total = 0
        while true {
            let line: ArraySlice<UInt8>
            switch takeLine(&rest) {
            case .line(let taken): line = taken
            case .failed(let ending): return ending
            }
            // RFC 9112 sets no limit; the server refuses chunk lines over 1,024 bytes.
            if line.count > 1_024 { return .refused }
            let digits = line.prefix { hex($0) != nil }
            let extensions = line.dropFirst(digits.count).drop { $0 == 32 || $0 == 9 }
            guard (1...15).contains(digits.count),
                extensions.isEmpty
                    || (extensions.first == 59 && extensions.allSatisfy { $0 == 9 || ($0 >= 32 && $0 != 127) })
            else { return .refused }
            let size = digits.reduce(0) { $0 * 16 + hex($1)! }
            if size == 0 { break }
            total += size
            if total > maxBodySize { return .refused }
            guard rest.count >= size + 2 else { return .incomplete }
            guard rest[rest.startIndex + size] == 13, rest[rest.startIndex + size + 1] == 10 else { return .refused }
            rest = rest.dropFirst(size + 2)
        }
        var trailerBytes = 0
        while true {
            let line: ArraySlice<UInt8>
            switch takeLine(&rest) {
            case .line(let taken): line = taken
            case .failed(let ending): return ending
            }
            if line.isEmpty { return .complete }
            trailerBytes += line.count + 2
            if trailerBytes > maxHeadersSize || field(line) == nil { return .refused }
        }
    }

    /// The input ends before a head is complete.
    private func incompleteHead(_ rest: ArraySlice<UInt8>) -> Ending {
        // A bare LF is refused as soon as it is seen; so are lines already over the limits.
        var previous: UInt8 = 0
        for byte in rest {
            if byte == 10, previous != 13 { return .refused }
            previous = byte
        }
        return .incomplete
    }

    private func field(_ line: ArraySlice<UInt8>) -> (String, String)? {
        guard let colon = line.firstIndex(of: 58) else { return nil }
        let name = line[line.startIndex..<colon]
        let tchars = Array("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        guard !name.isEmpty, name.allSatisfy({ tchars.contains($0) }) else { return nil }
        let value = line[(colon + 1)...]
        guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else { return nil }
        return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self).trimmingOWS)
    }

    private func ending(_ framing: Framing, _ ending: Ending) -> Framing {
        var copy = framing
        copy.ending = ending
        return copy
    }

    private func split(_ head: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var rest = head
        while let end = find([13, 10], in: rest) {
            lines.append(rest[rest.startIndex..<end])
            rest = rest[(end + 2)...]
        }
        lines.append(rest)
        return lines
    }

    private func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = haystack.startIndex
        while index <= haystack.endIndex - needle.count {
            if haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    private func hex(_ byte: UInt8) -> Int? {
        switch byte {
        case 48...57: Int(byte - 48)
        case 65...70: Int(byte - 55)
        case 97...102: Int(byte - 87)
        default: nil
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (OWS).
    var trimmingOWS: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
