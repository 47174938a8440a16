internal import CLibevent
internal import Glibc

/// One listening socket per event loop, all on the same address and port via `SO_REUSEPORT`.
///
/// Why not one shared socket that every loop accepts on: with a shared socket every loop's epoll
/// wakes for every connection, and libevent's listener accepts in a loop, so a burst of connects
/// (a load generator or a proxy opening its keep-alive pool) can land on one loop and leave the
/// other idle for the whole life of those connections. With `SO_REUSEPORT` the kernel spreads
/// connections over the sockets by address hash and wakes one loop each. The price is that
/// another process of the same user could join the port silently; a probe bind without
/// `SO_REUSEPORT` first makes "address already in use" fail loudly as it should.
struct ListeningSockets {
    let descriptors: [Int32]
    let port: Int

    static func open(host: String, port: Int, count: Int, backlog: Int) throws(HTTPServerError) -> ListeningSockets {
        guard (0...65_535).contains(port) else {
            throw HTTPServerError.invalidAddress(host: host, reason: "port \(port) is out of range")
        }
        var address = try resolve(host: host, port: port)
        let boundPort = try probe(address, host: host, port: port)
        address.setPort(boundPort)
        var descriptors: [Int32] = []
        for _ in 0..<max(1, count) {
            do {
                descriptors.append(try listeningSocket(address, host: host, port: boundPort, backlog: backlog))
            } catch {
                for fd in descriptors { Glibc.close(fd) }
                throw error
            }
        }
        return ListeningSockets(descriptors: descriptors, port: boundPort)
    }

    // MARK: Steps

    private static func resolve(host: String, port: Int) throws(HTTPServerError) -> SocketAddress {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list, let address = first.pointee.ai_addr else {
            let reason = status == 0 ? "no address" : String(cString: gai_strerror(status))
            throw HTTPServerError.invalidAddress(host: host, reason: reason)
        }
        defer { freeaddrinfo(list) }
        return SocketAddress(address, length: first.pointee.ai_addrlen)
    }

    /// Binds once without `SO_REUSEPORT`: fails if anyone holds the port, and resolves port 0.
    private static func probe(_ address: SocketAddress, host: String, port: Int) throws(HTTPServerError) -> Int {
        let fd = socket(Int32(address.family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPServerError.bindFailed(host: host, port: port, errno: errno) }
        defer { Glibc.close(fd) }
        setOption(fd, SO_REUSEADDR)
        guard address.bind(fd) == 0 else { throw HTTPServerError.bindFailed(host: host, port: port, errno: errno) }
        return SocketAddress.localPort(of: fd) ?? port
    }

    private static func listeningSocket(
        _ address: SocketAddress, host: String, port: Int, backlog: Int
    ) throws(HTTPServerError) -> Int32 {
        // Non-blocking because libevent's listener accepts until EAGAIN.
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(Int32(address.family), type, 0)
        guard fd >= 0 else { throw HTTPServerError.bindFailed(host: host, port: port, errno: errno) }
        setOption(fd, SO_REUSEADDR)
        setOption(fd, SO_REUSEPORT)
        guard address.bind(fd) == 0, listen(fd, Int32(clamping: backlog)) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw HTTPServerError.bindFailed(host: host, port: port, errno: code)
        }
        return fd
    }

    private static func setOption(_ fd: Int32, _ option: Int32) {
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, option, &on, socklen_t(MemoryLayout<Int32>.size))
    }
}
