internal import CLibevent

extension HTTPMethod {
    init(_ command: evhttp_cmd_type) {
        switch command {
        case EVHTTP_REQ_GET: self = .GET
        case EVHTTP_REQ_POST: self = .POST
        case EVHTTP_REQ_PUT: self = .PUT
        case EVHTTP_REQ_DELETE: self = .DELETE
        case EVHTTP_REQ_PATCH: self = .PATCH
        case EVHTTP_REQ_HEAD: self = .HEAD
        case EVHTTP_REQ_OPTIONS: self = .OPTIONS
        default: self = .other
        }
    }

    /// Every method evhttp can parse. evhttp answers 501 by itself to methods outside its allowed
    /// set, and its default set lacks PATCH and OPTIONS.
    static let allLibeventMethods: UInt16 = {
        let all = [
            EVHTTP_REQ_GET, EVHTTP_REQ_POST, EVHTTP_REQ_HEAD, EVHTTP_REQ_PUT, EVHTTP_REQ_DELETE,
            EVHTTP_REQ_OPTIONS, EVHTTP_REQ_TRACE, EVHTTP_REQ_CONNECT, EVHTTP_REQ_PATCH,
        ]
        return UInt16(all.reduce(0) { $0 | $1.rawValue })
    }()
}
