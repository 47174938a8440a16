/// One HTTP/1.x response cut out of the bytes a server wrote, for the HTTP fuzz harness.
///
/// Strict where evhttp is predictable (status line shape, CRLF header lines, `Content-Length`
/// framing) so that a malformed or mis-framed reply is a finding rather than noise.
struct ParsedResponse {
    struct Problem: Error {
        let reason: String
    }

    var version: String
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    var contentLength: Int?
    /// Taken for a reply to HEAD: no `Content-Length` and nothing after the headers.
    var isBodiless = false

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every response in `bytes`. A response without `Content-Length` (HTTP/1.0, or an error page
    /// after which evhttp closes) runs to the end, except a reply to HEAD, which evhttp sends with
    /// neither body nor `Content-Length`: the framing alone cannot tell those apart, so with
    /// `requestMentionsHEAD` a reply followed directly by the next one (or the end) is taken as
    /// bodiless, and a declared length that does not fit is also tried as zero.
    static func parseStream(_ bytes: [UInt8], requestMentionsHEAD: Bool) -> Result<[ParsedResponse], Problem> {
        var responses: [ParsedResponse] = []
        var index = 0
        while index < bytes.count {
            guard let headEnd = bytes.firstRange(of: [13, 10, 13, 10], in: index) else {
                return .failure(Problem(reason: "header block without CRLF CRLF at \(index)"))
            }
            let lines = bytes[index..<headEnd].split(separator: 10, omittingEmptySubsequences: false).map {
                String(decoding: $0.last == 13 ? $0.dropLast() : $0, as: UTF8.self)
            }
            let statusLine = lines[0].split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            // evhttp echoes the request's version as it read it into two C ints: `HTTP/0.1`,
            // `HTTP/1.11`, even `HTTP/1.-1` after an overflow (libevent's, left as is). Only the
            // prefix is checked.
            guard statusLine.count >= 2, statusLine[0].count > 5, statusLine[0].hasPrefix("HTTP/"),
                statusLine[1].count == 3, let status = Int(statusLine[1]), (100...599).contains(status)
            else {
                return .failure(Problem(reason: "bad status line '\(lines[0])'"))
            }
            var headers: [(String, String)] = []
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                    return .failure(Problem(reason: "bad header line '\(line)'"))
                }
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " })))
            }
            var response = ParsedResponse(
                version: String(statusLine[0]), status: status, headers: headers, body: [], contentLength: nil)
            let bodyStart = headEnd + 4
            let lengths = headers.filter { $0.0.lowercased() == "content-length" }
            if lengths.count > 1 { return .failure(Problem(reason: "several Content-Length headers")) }
            if let text = lengths.first?.1 {
                guard let length = Int(text), length >= 0 else {
                    return .failure(Problem(reason: "bad Content-Length '\(text)'"))
                }
                response.contentLength = length
                let fits = bodyStart + length <= bytes.count
                let nextIsResponse = { (start: Int) in
                    start == bytes.count || bytes[start...].starts(with: "HTTP/".utf8)
                }
                if fits, nextIsResponse(bodyStart + length) {
                    response.body = Array(bytes[bodyStart..<bodyStart + length])
                    index = bodyStart + length
                } else if requestMentionsHEAD, nextIsResponse(bodyStart) {
                    // A reply to HEAD: the length a GET would get, and no body.
                    response.isBodiless = true
                    index = bodyStart
                } else {
                    return .failure(Problem(reason: "body does not match Content-Length \(length)"))
                }
            } else if status < 200 || status == 204 || status == 304 {
                index = bodyStart
            } else if requestMentionsHEAD, bodyStart == bytes.count || bytes[bodyStart...].starts(with: "HTTP/".utf8) {
                // evhttp writes neither body nor Content-Length for HEAD.
                response.isBodiless = true
                index = bodyStart
            } else {
                response.body = Array(bytes[bodyStart...])
                index = bytes.count
            }
            responses.append(response)
        }
        return .success(responses)
    }
}

extension Array where Element == UInt8 {
    func firstRange(of pattern: [UInt8], in start: Int) -> Int? {
        guard count >= pattern.count else { return nil }
        var position = start
        while position + pattern.count <= count {
            if self[position..<position + pattern.count].elementsEqual(pattern) { return position }
            position += 1
        }
        return nil
    }

    func contains(subsequence text: String) -> Bool {
        firstRange(of: Array(text.utf8), in: 0) != nil
    }
}
