import Glibc

/// A resolved TCP address, copied out of `getaddrinfo` so that connections can reuse it.
struct SocketAddress: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let storage: [UInt8]
    let family: Int32

    static func resolve(host: String, port: Int) throws(Failure) -> SocketAddress {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list, let address = first.pointee.ai_addr else {
            throw Failure(description: "cannot resolve \(host):\(port): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        let bytes = UnsafeRawBufferPointer(start: address, count: Int(first.pointee.ai_addrlen))
        return SocketAddress(storage: Array(bytes), family: first.pointee.ai_family)
    }

    /// A connected, non-blocking socket with Nagle off, or nil with errno set.
    ///
    /// The connect itself blocks: it happens before measuring starts, or to replace a connection
    /// the server closed, and on loopback it takes microseconds.
    func connectNonBlocking() -> Int32? {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        let connected = storage.withUnsafeBytes { raw in
            connect(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        guard connected == 0 else {
            let saved = errno
            close(fd)
            errno = saved
            return nil
        }
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }
}
