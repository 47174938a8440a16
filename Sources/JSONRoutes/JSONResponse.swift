import BidCore
public import HTTPServer
public import Logging
public import Postgres

/// The JSON replies every route shares: one place decides the error shape.
public enum JSONResponse {
    public static let contentType = ("Content-Type", "application/json")

    /// `{"error": message}` for protocol-level problems (415, 404, 503, …).
    public static func error(_ status: Int, _ message: String, headers: [(String, String)] = []) -> HTTPResponse {
        var writer = JSONWriter(capacity: 64)
        writer.beginObject()
        writer.member("error", message)
        writer.endObject()
        return HTTPResponse(status: status, headers: [contentType] + headers, body: writer.bytes)
    }

    /// `{"errors": [...]}`: the legacy validation shape.
    public static func validationErrors(_ messages: [String]) -> HTTPResponse {
        var writer = JSONWriter(capacity: 96)
        writer.beginObject()
        writer.beginArray("errors")
        for message in messages { writer.element(message) }
        writer.endArray()
        writer.endObject()
        return HTTPResponse(status: 400, headers: [contentType], body: writer.bytes)
    }

    /// The answer to a failed read: 503 with `Retry-After` when retrying may help, otherwise 500
    /// (logged, since it means a bug or bad data) naming what could not be read.
    public static func readFailure(_ error: PostgresError, reading what: String, retryAfterSeconds: Int, logger: Logger)
        -> HTTPResponse
    {
        guard error.isTransient else {
            logger.error("query failed reading \(what)", metadata: ["error": "\(error)"])
            return Self.error(500, readFailureMessage(reading: what))
        }
        return Self.error(
            503, "database unavailable; retry later", headers: [("Retry-After", String(retryAfterSeconds))])
    }

    /// What a 500 for a failed read tells the client: what could not be read, nothing of why.
    public static func readFailureMessage(reading what: String) -> String { "internal error reading \(what)" }

    public static func ok(_ body: [UInt8], status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [contentType], body: body)
    }
}

extension HTTPResponder {
    /// `logFields` reach the access log, not the client (a bulk request's item counts).
    public func respond(_ response: HTTPResponse, logFields: [(String, String)] = []) {
        respond(status: response.status, headers: response.headers, body: response.body, logFields: logFields)
    }
}
