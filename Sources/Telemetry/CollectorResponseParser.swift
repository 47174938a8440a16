/// Reads a collector's answer to one export as it arrives: the status, whether the connection
/// stays open, and where the answer ends, so that the next export can reuse the connection.
///
/// The body is skipped, not kept: an export needs only the status. It ends at `Content-Length`,
/// at the last chunk of `Transfer-Encoding: chunked`, or, with neither, when the collector closes
/// the connection. Interim `1xx` answers are skipped. A head longer than `maxHeadBytes` or one
/// that is not HTTP/1.x is malformed, so that a stranger on the port cannot make the exporter
/// buffer without end.
struct CollectorResponseParser {
    enum Outcome: Equatable {
        case needMore
        /// The whole answer has been read; `keepAlive` when the connection may carry the next.
        case complete(status: Int, keepAlive: Bool)
        case malformed
    }

    static let maxHeadBytes = 16 * 1024

    private enum Body {
        case length(Int)
        case chunkSize
        case chunkData(Int)
        case chunkDataEnd
        case trailers
        case untilClose
    }

    private enum State {
        case head
        case body(Body)
        case done
        case failed
    }

    private var state = State.head
    private var line: [UInt8] = []
    private var headLines: [[UInt8]] = []
    private var headBytes = 0
    private var status = 0
    private var keepAlive = true

    /// The bytes just read from the connection.
    mutating func received(_ bytes: some Collection<UInt8>) -> Outcome {
        var index = bytes.startIndex
        while index != bytes.endIndex {
            switch state {
            case .done, .failed:
                return outcome
            case .body(.length(let remaining)):
                let available = bytes.distance(from: index, to: bytes.endIndex)
                let taken = min(remaining, available)
                index = bytes.index(index, offsetBy: taken)
                state = remaining == taken ? .done : .body(.length(remaining - taken))
            case .body(.chunkData(let remaining)):
                let available = bytes.distance(from: index, to: bytes.endIndex)
                let taken = min(remaining, available)
                index = bytes.index(index, offsetBy: taken)
                state = .body(remaining == taken ? .chunkDataEnd : .chunkData(remaining - taken))
            case .body(.untilClose):
                return .needMore
            case .head, .body(.chunkSize), .body(.chunkDataEnd), .body(.trailers):
                let byte = bytes[index]
                index = bytes.index(after: index)
                lineByte(byte)
            }
        }
        return outcome
    }

    /// The collector closed the connection: the end of an answer delimited by the close, and
    /// malformed anywhere else.
    mutating func closed() -> Outcome {
        switch state {
        case .body(.untilClose):
            state = .done
            keepAlive = false
        case .done:
            keepAlive = false
        default:
            state = .failed
        }
        return outcome
    }

    private var outcome: Outcome {
        switch state {
        case .done: .complete(status: status, keepAlive: keepAlive)
        case .failed: .malformed
        default: .needMore
        }
    }

    private mutating func lineByte(_ byte: UInt8) {
        headBytes += 1
        guard headBytes <= Self.maxHeadBytes else {
            state = .failed
            return
        }
        guard byte == UInt8(ascii: "\n") else {
            line.append(byte)
            return
        }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        let finished = line
        line.removeAll(keepingCapacity: true)
        lineEnded(finished)
    }

    private mutating func lineEnded(_ text: [UInt8]) {
        switch state {
        case .head:
            if text.isEmpty {
                headEnded()
            } else {
                headLines.append(text)
            }
        case .body(.chunkSize):
            // The size in hex, possibly followed by `;extensions`.
            let digits = text.prefix { $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: " ") }
            guard let size = Int(String(decoding: digits, as: UTF8.self), radix: 16), size >= 0 else {
                state = .failed
                return
            }
            headBytes = 0
            state = .body(size == 0 ? .trailers : .chunkData(size))
        case .body(.chunkDataEnd):
            state = text.isEmpty ? .body(.chunkSize) : .failed
        case .body(.trailers):
            if text.isEmpty { state = .done }
        default:
            break
        }
    }

    private mutating func headEnded() {
        guard let first = headLines.first, let parsed = Self.statusLine(first) else {
            state = .failed
            return
        }
        status = parsed.status
        keepAlive = parsed.minorVersion >= 1
        var length: Int?
        var chunked = false
        for field in headLines.dropFirst() {
            guard let colon = field.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = String(decoding: field[..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: field[(colon + 1)...], as: UTF8.self).trimmingSpaces().lowercased()
            switch name {
            case "content-length":
                guard let number = Int(value), number >= 0 else {
                    state = .failed
                    return
                }
                length = number
            case "transfer-encoding":
                chunked = value.split(separator: ",").last?.trimmingSpaces() == "chunked"
            case "connection":
                let options = value.split(separator: ",").map { $0.trimmingSpaces() }
                if options.contains("close") { keepAlive = false }
                if options.contains("keep-alive") { keepAlive = true }
            default:
                break
            }
        }
        headLines.removeAll()
        headBytes = 0
        if (100..<200).contains(status) {
            // An interim answer: the real one follows.
            keepAlive = true
            state = .head
        } else if status == 204 || status == 304 {
            state = .done
        } else if chunked {
            state = .body(.chunkSize)
        } else if let length {
            state = length == 0 ? .done : .body(.length(length))
        } else {
            keepAlive = false
            state = .body(.untilClose)
        }
    }

    /// `HTTP/1.x NNN reason`: the status and x.
    private static func statusLine(_ line: [UInt8]) -> (status: Int, minorVersion: Int)? {
        let prefix = Array("HTTP/1.".utf8)
        guard line.count >= 12, line.starts(with: prefix), line[8] == UInt8(ascii: " ") else { return nil }
        let minor = Int(line[7]) - Int(UInt8(ascii: "0"))
        guard (0...9).contains(minor), let status = Int(String(decoding: line[9..<12], as: UTF8.self)),
            (100...999).contains(status), line.count == 12 || line[12] == UInt8(ascii: " ")
        else { return nil }
        return (status, minor)
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (optional whitespace in HTTP fields).
    fileprivate func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
