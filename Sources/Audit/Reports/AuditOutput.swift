import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where a report goes: standard output, or a file that appears complete or not at all (written
/// under a temporary name and renamed when finished, so a reader never sees half a report).
/// Buffered: millions of CSV lines become a few hundred `write(2)` calls.
public final class AuditOutput {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        /// The reader went away (`bidengine audit | head`): not worth an error message.
        public var isBrokenPipe = false
    }

    private let fileDescriptor: Int32
    private let ownsDescriptor: Bool
    /// (temporary path, final path) for files.
    private let paths: (temporary: String, final: String)?
    private var buffer: [UInt8] = []
    private var finished = false

    /// Writes to an open descriptor the caller keeps (1 for standard output).
    public init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
        ownsDescriptor = false
        paths = nil
        buffer.reserveCapacity(1 << 16)
    }

    /// Writes to `path`, replacing it when `finish()` succeeds.
    public init(path: String) throws {
        let temporary = path + ".partial-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        fileDescriptor = descriptor
        ownsDescriptor = true
        paths = (temporary, path)
        buffer.reserveCapacity(1 << 16)
    }

    deinit {
        // Not finished: an error happened; leave no partial file behind.
        if ownsDescriptor {
            close(fileDescriptor)
            if !finished, let paths { unlink(paths.temporary) }
        }
    }

    public func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { try flush() }
    }

    public func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Flushes, and for a file makes it durable and gives it its final name.
    public func finish() throws {
        try flush()
        guard let paths else { return }
        guard fsync(fileDescriptor) == 0 else {
            throw Failure(description: "cannot write \(paths.final): \(String(cString: strerror(errno)))")
        }
        guard rename(paths.temporary, paths.final) == 0 else {
            throw Failure(description: "cannot rename to \(paths.final): \(String(cString: strerror(errno)))")
        }
        finished = true
    }

    private func flush() throws {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes {
                Glibc.write(fileDescriptor, $0.baseAddress! + offset, $0.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(
                    description: "cannot write the report: \(String(cString: strerror(errno)))",
                    isBrokenPipe: errno == EPIPE)
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
