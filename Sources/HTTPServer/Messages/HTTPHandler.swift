/// Handles one request on the loop thread; it may answer at once or later (after a database round
/// trip), through the responder.
public typealias HTTPHandler = (HTTPRequest, HTTPResponder) -> Void
