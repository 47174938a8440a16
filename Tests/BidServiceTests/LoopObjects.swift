/// Objects created on an event loop that must outlive the closure that made them, as the server's
/// router keeps its connection and writer. Touch only on that loop.
final class LoopObjects: @unchecked Sendable {
    var objects: [AnyObject] = []
}
