/// Reason phrases for the status line, as static C strings.
///
/// libevent's own table stops at 417 and 505 and names everything else by its class ("Client
/// Error" for 429); static strings also cost nothing to pass to C.
enum ReasonPhrase {
    static func withPhrase<Result>(for status: Int, _ body: (UnsafePointer<CChar>?) -> Result) -> Result {
        guard let phrase = phrase(for: status) else { return body(nil) }
        return phrase.withUTF8Buffer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { body($0.baseAddress) }
        }
    }

    private static func phrase(for status: Int) -> StaticString? {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: nil
        }
    }
}
