// Compiled into every fuzzer by scripts/ci/fuzz.sh (not a SwiftPM target: see Tests/Fuzz/README.md).

/// A property every input must satisfy; a violation traps, so libFuzzer saves the input as a crash.
///
/// `fatalError` rather than `assert`: fuzzers may one day be built with `-O`, and the message
/// (printed before the trap) is what makes the crash report readable.
func fuzzRequire(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID,
    line: UInt = #line
) {
    guard !condition() else { return }
    fatalError("fuzz property violated: \(message())", file: file, line: line)
}

/// Printable form of arbitrary bytes for property messages: ASCII as is, the rest as `\xNN`.
func fuzzEscaped(_ bytes: some Sequence<UInt8>) -> String {
    var text = ""
    for byte in bytes {
        if (0x20..<0x7F).contains(byte), byte != UInt8(ascii: "\\") {
            text.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            let hex = Array("0123456789abcdef".unicodeScalars)
            text += "\\x"
            text.unicodeScalars.append(hex[Int(byte >> 4)])
            text.unicodeScalars.append(hex[Int(byte & 0xF)])
        }
    }
    return text
}
