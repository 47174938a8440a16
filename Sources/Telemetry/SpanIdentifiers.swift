/// Random trace and span ids for spans started outside the event loops (which draw theirs from
/// their own pools): the kernel's randomness, never zero, as W3C Trace Context requires.
enum SpanIdentifiers {
    static func nonZero() -> UInt64 {
        var random = SystemRandomNumberGenerator()
        var value: UInt64 = 0
        while value == 0 { value = random.next() }
        return value
    }
}
