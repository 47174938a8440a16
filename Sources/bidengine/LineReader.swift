#if canImport(Glibc)
    import Glibc
#endif

/// Reads newline-terminated lines from a file descriptor in large chunks.
struct LineReader {
    struct ReadError: Error, CustomStringConvertible {
        let code: Int32
        var description: String { "cannot read input (errno \(code))" }
    }

    private let fileDescriptor: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false

    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// The next line without its `\n` (and without a `\r` before it), or nil at end of input.
    mutating func nextLine() throws -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = Array(buffer[start..<end])
                start = newline + 1
                return line
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line
            }
            try fill()
        }
    }

    private mutating func fill() throws {
        buffer.removeFirst(start)
        start = 0
        let chunk = 1 << 16
        let oldCount = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        let count = buffer.withUnsafeMutableBytes { read(fileDescriptor, $0.baseAddress! + oldCount, chunk) }
        if count < 0 {
            buffer.removeLast(chunk)
            if errno == EINTR { return }
            throw ReadError(code: errno)
        }
        buffer.removeLast(chunk - count)
        if count == 0 { atEnd = true }
    }
}
