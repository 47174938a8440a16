internal import Glibc

/// Last-resort diagnostics straight to fd 2: `stderr` is a mutable C global that Swift 6 strict
/// concurrency refuses, and these messages must not depend on a logging library being wired up.
enum StandardError {
    static func write(_ text: String) {
        var copy = text
        copy.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
