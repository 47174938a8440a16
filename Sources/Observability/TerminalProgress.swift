#if canImport(Glibc)
    import Glibc
#endif

/// A progress line on stderr that rewrites itself, drawn only when stderr is a terminal
/// (`isatty(2)`); logs and pipes get JSON lines instead. One `write(2)` per update.
public enum TerminalProgress {
    public static var isTerminal: Bool { isatty(2) == 1 }

    /// Replaces the current line with `text` (carriage return, text, erase to end of line).
    public static func update(_ text: String) {
        guard isTerminal else { return }
        let bytes = Array("\r\(text)\u{1B}[K".utf8)
        bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }

    /// Ends the progress line so that what follows starts on a fresh one.
    public static func finish() {
        guard isTerminal else { return }
        _ = write(2, "\n", 1)
    }
}
