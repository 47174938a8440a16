internal import Glibc

/// An IPv4 or IPv6 socket address held by value, so that it can be re-bound with another port.
struct SocketAddress {
    private var storage = sockaddr_storage()
    private let length: socklen_t

    init(_ address: UnsafePointer<sockaddr>, length: socklen_t) {
        self.length = length
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(length)))
        }
    }

    var family: sa_family_t { storage.ss_family }

    mutating func setPort(_ port: Int) {
        let networkOrder = UInt16(port).bigEndian
        let family = Int32(storage.ss_family)
        withUnsafeMutableBytes(of: &storage) { raw in
            switch family {
            case AF_INET:
                raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self).pointee.sin_port = networkOrder
            case AF_INET6:
                raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_port = networkOrder
            default:
                break
            }
        }
    }

    func bind(_ fd: Int32) -> Int32 {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
    }

    /// The port a socket is bound to, from `getsockname`.
    static func localPort(of fd: Int32) -> Int? {
        var bound = sockaddr_storage()
        var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &bound) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) }
        }
        guard status == 0 else { return nil }
        let family = Int32(bound.ss_family)
        return withUnsafeBytes(of: &bound) { raw -> Int? in
            switch family {
            case AF_INET: Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
            case AF_INET6: Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
            default: nil
            }
        }
    }
}
