import Glibc

/// A minimal epoll instance for the load generator, reached through the C library's exported
/// functions.
///
/// Swift's Glibc module does not import `<sys/epoll.h>`, and this executable target has no C shim
/// of its own, so the four entry points are looked up with `dlsym` and `struct epoll_event` is
/// laid out by hand (packed, 12 bytes, on x86-64; 16 bytes elsewhere). Waits take nanosecond
/// timeouts (`epoll_pwait2`, Linux 5.11+) so that an open-loop schedule is not rounded to whole
/// milliseconds; on older kernels it falls back to `epoll_wait`, rounding timeouts up.
final class Epoll {
    struct Ready {
        let token: Int
        let readable: Bool
        let writable: Bool
        /// Error or hang-up: the socket should be read (to see EOF or the error) and dropped.
        let failed: Bool
    }

    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    private typealias Create = @convention(c) (Int32) -> Int32
    private typealias Control = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    private typealias WaitNanoseconds =
        @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, UnsafePointer<timespec>?, UnsafeRawPointer?) -> Int32
    private typealias WaitMilliseconds = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32

    // Linux ABI constants (include/uapi/linux/eventpoll.h).
    private static let addOperation: Int32 = 1
    private static let deleteOperation: Int32 = 2
    private static let modifyOperation: Int32 = 3
    private static let inputFlag: UInt32 = 0x001
    private static let outputFlag: UInt32 = 0x004
    private static let errorFlag: UInt32 = 0x008
    private static let hangUpFlag: UInt32 = 0x010
    #if arch(x86_64)
        private static let eventSize = 12
        private static let dataOffset = 4
    #else
        private static let eventSize = 16
        private static let dataOffset = 8
    #endif

    private let fd: Int32
    private let control: Control
    private let waitNanoseconds: WaitNanoseconds?
    private let waitMilliseconds: WaitMilliseconds
    private var nanosecondWaitWorks = true
    private let events: UnsafeMutableRawPointer
    private let capacity: Int

    init(capacity: Int = 256) throws(Unavailable) {
        let process = dlopen(nil, RTLD_NOW)
        guard let create = dlsym(process, "epoll_create1"), let control = dlsym(process, "epoll_ctl"),
            let wait = dlsym(process, "epoll_wait")
        else { throw Unavailable(description: "epoll is not available in this C library") }
        self.control = unsafeBitCast(control, to: Control.self)
        self.waitMilliseconds = unsafeBitCast(wait, to: WaitMilliseconds.self)
        self.waitNanoseconds = dlsym(process, "epoll_pwait2").map { unsafeBitCast($0, to: WaitNanoseconds.self) }
        let fd = unsafeBitCast(create, to: Create.self)(Int32(O_CLOEXEC))
        guard fd >= 0 else { throw Unavailable(description: "epoll_create1 failed: errno \(errno)") }
        self.fd = fd
        self.capacity = capacity
        events = UnsafeMutableRawPointer.allocate(byteCount: capacity * Self.eventSize, alignment: 8)
    }

    deinit {
        events.deallocate()
        close(fd)
    }

    /// Registers `socket`, reported with `token`.
    func add(_ socket: Int32, token: Int, readable: Bool, writable: Bool) -> Bool {
        change(Self.addOperation, socket, token: token, readable: readable, writable: writable)
    }

    @discardableResult
    func modify(_ socket: Int32, token: Int, readable: Bool, writable: Bool) -> Bool {
        change(Self.modifyOperation, socket, token: token, readable: readable, writable: writable)
    }

    /// Closing a socket removes it too; this is for sockets that stay open.
    @discardableResult
    func remove(_ socket: Int32) -> Bool {
        control(fd, Self.deleteOperation, socket, nil) == 0
    }

    /// Waits up to `timeout` nanoseconds (nil: indefinitely) and calls `body` for each ready socket.
    func wait(timeout nanoseconds: UInt64?, _ body: (Ready) -> Void) {
        let count = waitForEvents(timeout: nanoseconds)
        for index in 0..<Int(max(0, count)) {
            let event = events + index * Self.eventSize
            let flags = event.loadUnaligned(as: UInt32.self)
            let token = event.loadUnaligned(fromByteOffset: Self.dataOffset, as: UInt64.self)
            body(
                Ready(
                    token: Int(token), readable: flags & Self.inputFlag != 0, writable: flags & Self.outputFlag != 0,
                    failed: flags & (Self.errorFlag | Self.hangUpFlag) != 0))
        }
    }

    private func waitForEvents(timeout nanoseconds: UInt64?) -> Int32 {
        if nanosecondWaitWorks, let waitNanoseconds {
            let result: Int32
            if let nanoseconds {
                var limit = timespec(
                    tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
                result = waitNanoseconds(fd, events, Int32(capacity), &limit, nil)
            } else {
                result = waitNanoseconds(fd, events, Int32(capacity), nil, nil)
            }
            if result >= 0 || errno != ENOSYS { return result }
            nanosecondWaitWorks = false
        }
        let milliseconds = nanoseconds.map { Int32(clamping: ($0 + 999_999) / 1_000_000) } ?? -1
        return waitMilliseconds(fd, events, Int32(capacity), milliseconds)
    }

    private func change(_ operation: Int32, _ socket: Int32, token: Int, readable: Bool, writable: Bool) -> Bool {
        var event = (UInt64(0), UInt64(0))  // 16 bytes, enough for either layout
        return withUnsafeMutableBytes(of: &event) { raw in
            let flags = (readable ? Self.inputFlag : 0) | (writable ? Self.outputFlag : 0)
            raw.storeBytes(of: flags, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: UInt64(token), toByteOffset: Self.dataOffset, as: UInt64.self)
            return control(fd, operation, socket, raw.baseAddress) == 0
        }
    }
}
