import Foundation

/// Table lines go to stdout (the report); progress goes to stderr, so `> file` keeps only the table.
///
/// Both are written straight to their file descriptors: Glibc's `stdout`/`stderr` are mutable
/// globals that strict concurrency rejects, and unbuffered writes keep the two streams in order.
enum Console {
    static func line(_ text: String = "") {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func progress(_ text: String) {
        FileHandle.standardError.write(Data(("· " + text + "\n").utf8))
    }
}
