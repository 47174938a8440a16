import Glibc

/// One keep-alive connection of the load generator, with at most one request in flight.
///
/// Owned by the generator's single thread. The receive buffer is raw memory sized for the
/// largest response we accept, so reading and scanning a response allocates nothing.
final class LoadConnection {
    static let bufferSize = 65_536

    let index: Int
    var fd: Int32 = -1
    /// Received bytes of the current response.
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: LoadConnection.bufferSize, alignment: 16)
    var filled = 0

    /// The request being written: which one, and how much of it has gone out.
    var requestIndex = 0
    var written = 0
    var waitingToWrite = false

    var inFlight = false
    /// When the request actually went out, and when it was meant to (the same in a closed loop).
    var sentAt: UInt64 = 0
    var scheduledAt: UInt64 = 0

    /// Open loop: number of this connection's next request on the shared timeline, and its time.
    var sequence = 0
    var nextSendAt: UInt64 = 0
    /// When the connection last became free; tells timer lag from waiting for a slow response.
    var idleSince: UInt64 = 0

    init(index: Int) {
        self.index = index
    }

    deinit {
        buffer.deallocate()
        if fd >= 0 { close(fd) }
    }

    /// Drops `length` consumed bytes; anything after them is kept (a server must not send it,
    /// since nothing was pipelined, but a broken one might).
    func consume(_ length: Int) {
        if length < filled {
            let base = buffer.baseAddress!
            memmove(base, base + length, filled - length)
        }
        filled -= length
    }

    func reset() {
        if fd >= 0 { close(fd) }
        fd = -1
        filled = 0
        written = 0
        waitingToWrite = false
        inFlight = false
    }
}
