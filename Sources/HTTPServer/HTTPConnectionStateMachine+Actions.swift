extension HTTPConnectionStateMachine {
    /// What the connection must do after an event, performed in the order of the fields: the
    /// write deadline, reading, the half-close, the timer, then either the parser pass or the close.
    ///
    /// A plain value with one slot per kind of action rather than a list, so that deciding what
    /// to do after each reply allocates nothing.
    struct Actions: Equatable {
        enum Reading: Equatable {
            case pause, resume
        }

        enum Timer: Equatable {
            case arm(Deadline)
            case disarm
        }

        enum WriteDeadline: Equatable {
            case arm, disarm
        }

        var writeDeadline: WriteDeadline?
        var reading: Reading?
        /// Shut the sending side, and read (and discard) until the client closes or the linger ends.
        var halfCloseAndLinger = false
        var timer: Timer?
        /// Take the parser's next events: the connection may take a request now.
        var process = false
        var close: CloseReason?

        static let none = Actions()

        /// `self` followed by `next`: each slot `next` sets replaces this one's.
        func then(_ next: Actions) -> Actions {
            var merged = self
            if let writeDeadline = next.writeDeadline { merged.writeDeadline = writeDeadline }
            if let reading = next.reading { merged.reading = reading }
            if next.halfCloseAndLinger { merged.halfCloseAndLinger = true }
            if let timer = next.timer { merged.timer = timer }
            if next.process { merged.process = true }
            if let close = next.close { merged.close = close }
            return merged
        }
    }

    /// What the connection holds when an event happens: the facts its decisions depend on.
    struct Buffers: Equatable {
        /// Reply bytes waiting in the bufferevent to be written.
        var queuedOutput = 0
        /// Bytes the parser holds that no request has consumed yet.
        var unreadInput = 0
        /// The parser is between messages with nothing buffered.
        var parserIdle = true
    }
}
