import Testing

@testable import HTTPServer

/// The connection's rules on events alone, without a socket: reading, deadlines, back-pressure,
/// the lingering close.
struct HTTPConnectionStateMachineTests {
    typealias Machine = HTTPConnectionStateMachine
    typealias Actions = HTTPConnectionStateMachine.Actions
    typealias Buffers = HTTPConnectionStateMachine.Buffers

    static let limits = Machine.Limits(pipelinedInput: 100, maxQueuedOutput: 1_000)
    static let empty = Buffers()

    /// A machine that has read one request and handed it to its handler.
    static func handling() -> Machine {
        var machine = Machine(limits: limits)
        _ = machine.started()
        _ = machine.bytesReceived()
        _ = machine.requestParsed()
        return machine
    }

    @Test func theFirstByteReplacesTheFirstByteDeadlineWithTheRequestDeadline() {
        var machine = Machine(limits: Self.limits)
        let r1 = machine.started()
        #expect(r1 == Actions(timer: .arm(.firstByte)))
        let first = machine.bytesReceived()
        #expect(first.parse)
        #expect(first.actions == Actions(timer: .arm(.request)))
        // Later bytes of the same request do not move it.
        let r2 = machine.bytesReceived()
        #expect(r2.actions == .none)
        #expect(machine.deadline == .request)
    }

    @Test func aSilentConnectionIsCountedAsAFirstByteTimeout() {
        var machine = Machine(limits: Self.limits)
        _ = machine.started()
        let r3 = machine.deadlinePassed()
        #expect(r3 == Actions(close: .firstByteTimeout))
        #expect(machine.isClosed)
        let r4 = machine.deadlinePassed()
        #expect(r4 == .none)
    }

    @Test func anUnfinishedRequestIsCountedAsARequestTimeout() {
        var machine = Machine(limits: Self.limits)
        _ = machine.started()
        _ = machine.bytesReceived()
        let r5 = machine.deadlinePassed()
        #expect(r5 == Actions(close: .requestTimeout))
    }

    @Test func aKeptAliveReplyArmsTheIdleDeadlineAndTakesTheNextRequest() {
        var machine = Self.handling()
        #expect(machine.deadline == nil)
        #expect(!machine.takesRequests)
        let r6 = machine.replySent(close: false, Self.empty)
        #expect(r6 == Actions(timer: .arm(.idle), process: true))
        #expect(machine.takesRequests)
        // A pipelined request already waiting gets the request deadline instead.
        var pipelined = Self.handling()
        let waiting = Buffers(unreadInput: 40, parserIdle: false)
        let r7 = pipelined.replySent(close: false, waiting)
        #expect(r7 == Actions(timer: .arm(.request), process: true))
        // The idle deadline is not a request timeout.
        let r8 = machine.deadlinePassed()
        #expect(r8 == Actions(close: .deadline))
    }

    @Test func pipelinedInputBehindABusyHandlerPausesReadingUntilTheReply() {
        var machine = Self.handling()
        // Bytes read while the handler works do not start a deadline.
        let bytes = machine.bytesReceived()
        #expect(bytes.parse)
        #expect(bytes.actions == .none)
        let r9 = machine.inputConsumed(Buffers(unreadInput: 99, parserIdle: false))
        #expect(r9 == .none)
        let r10 = machine.inputConsumed(Buffers(unreadInput: 100, parserIdle: false))
        #expect(r10 == Actions(reading: .pause))
        #expect(machine.readPaused)
        let waiting = Buffers(unreadInput: 100, parserIdle: false)
        let r11 = machine.replySent(close: false, waiting)
        #expect(
            r11 == Actions(reading: .resume, timer: .arm(.request), process: true))
    }

    @Test func outputAboveTheMarkPausesReadingAndRequestsUntilItDrains() {
        var machine = Machine(limits: Self.limits)
        _ = machine.started()
        _ = machine.bytesReceived()
        _ = machine.requestParsed()
        // The reply could not all be written: the write deadline starts.
        let r12 = machine.outputQueued(Buffers(queuedOutput: 500))
        #expect(r12 == Actions(writeDeadline: .arm))
        let r13 = machine.replySent(close: false, Buffers(queuedOutput: 500))
        #expect(
            r13 == Actions(timer: .arm(.idle), process: true))
        // The next instant reply passes the mark: no more reading, no more requests, no deadline
        // but the write deadline, which is not started again.
        _ = machine.requestParsed()
        let r14 = machine.outputQueued(Buffers(queuedOutput: 1_001))
        #expect(r14 == Actions(reading: .pause))
        #expect(machine.outputPaused)
        let pipelined = Buffers(queuedOutput: 1_001, unreadInput: 31, parserIdle: false)
        let r15 = machine.replySent(close: false, pipelined)
        #expect(r15 == .none)
        #expect(!machine.takesRequests)
        #expect(machine.deadline == nil)
        // Drained to a quarter of the mark: reading and requests resume.
        let r16 = machine.outputDrained(Buffers(queuedOutput: 251), draining: false)
        #expect(r16 == .none)
        let r17 = machine.outputDrained(Buffers(queuedOutput: 250, unreadInput: 31, parserIdle: false), draining: false)
        #expect(
            r17
                == Actions(reading: .resume, timer: .arm(.request), process: true))
        #expect(machine.takesRequests)
        // Empty: the write deadline stops.
        let r18 = machine.outputDrained(Buffers(), draining: false)
        #expect(r18 == Actions(writeDeadline: .disarm))
        #expect(!machine.writeDeadlineArmed)
    }

    @Test func theWriteDeadlineIsNotMovedByMoreOutputOrPartialDrains() {
        var machine = Self.handling()
        let r19 = machine.outputQueued(Buffers(queuedOutput: 100))
        #expect(r19 == Actions(writeDeadline: .arm))
        let r20 = machine.outputQueued(Buffers(queuedOutput: 300))
        #expect(r20 == .none)
        let r21 = machine.outputDrained(Buffers(queuedOutput: 10), draining: false)
        #expect(r21 == .none)
        #expect(machine.writeDeadlineArmed)
        let r22 = machine.writeDeadlinePassed()
        #expect(r22 == Actions(close: .writeTimeout))
        #expect(machine.isClosed)
    }

    @Test func aPausedHandlerReadsAgainWhenOutputDrainsButTakesNoRequestUntilItsReply() {
        var machine = Self.handling()
        _ = machine.outputQueued(Buffers(queuedOutput: 2_000))
        #expect(machine.readPaused)
        let r23 = machine.outputDrained(Buffers(queuedOutput: 0), draining: false)
        #expect(
            r23
                == Actions(writeDeadline: .disarm, reading: .resume))
        #expect(!machine.takesRequests)
    }

    @Test func aLastReplyWithNothingUnreadClosesOnceFlushed() {
        var machine = Self.handling()
        let r24 = machine.replySent(close: true, Buffers(queuedOutput: 10))
        #expect(r24 == Actions(reading: .pause))
        let r25 = machine.outputDrained(Buffers(), draining: false)
        #expect(r25 == Actions(close: .finished))
        var direct = Self.handling()
        let r26 = direct.replySent(close: true, Self.empty)
        #expect(r26 == Actions(reading: .pause, close: .finished))
    }

    @Test func aLastReplyWithInputUnreadHalfClosesAndLingers() {
        var machine = Self.handling()
        let unread = Buffers(unreadInput: 5, parserIdle: false)
        let r27 = machine.replySent(close: true, unread)
        #expect(
            r27
                == Actions(reading: .pause, halfCloseAndLinger: true, timer: .arm(.linger)))
        #expect(machine.state == .lingering)
        // Discarded from now on; the client's close ends it.
        let r28 = machine.bytesReceived()
        #expect(r28.parse == false)
        let r29 = machine.peerClosedSending()
        #expect(r29 == Actions(close: .finished))
    }

    @Test func anErrorReplyLingersEvenWithNothingUnreadUnlessThePeerHasClosed() {
        var machine = Machine(limits: Self.limits)
        _ = machine.started()
        _ = machine.bytesReceived()
        let r30 = machine.requestFailed()
        #expect(r30 == Actions(reading: .pause, timer: .disarm))
        let r31 = machine.failureReplyWritten(Self.empty)
        #expect(r31 == Actions(halfCloseAndLinger: true, timer: .arm(.linger)))
        let r32 = machine.deadlinePassed()
        #expect(r32 == Actions(close: .deadline))

        var closedPeer = Machine(limits: Self.limits)
        _ = closedPeer.started()
        _ = closedPeer.bytesReceived()
        let r33 = closedPeer.peerClosedSending()
        #expect(r33 == Actions(process: true))
        _ = closedPeer.requestFailed()
        let r34 = closedPeer.failureReplyWritten(Self.empty)
        #expect(r34 == Actions(close: .finished))
    }

    @Test func aHalfClosedClientGetsItsRepliesAndThenTheClose() {
        var machine = Self.handling()
        // The peer closes while the handler works: nothing happens until the reply.
        let r35 = machine.peerClosedSending()
        #expect(r35 == .none)
        let r36 = machine.replySent(close: false, Self.empty)
        #expect(r36 == Actions(timer: .arm(.idle), process: true))
        // No more requests in the parser, none will come: done.
        let r37 = machine.inputExhausted(Self.empty)
        #expect(r37 == Actions(close: .finished))
    }

    @Test func aDrainingServerClosesOnlyIdleConnections() {
        var machine = Self.handling()
        let r38 = machine.drainRequested(Self.empty)
        #expect(r38 == .none)
        _ = machine.replySent(close: false, Buffers(queuedOutput: 10))
        let r39 = machine.drainRequested(Buffers(queuedOutput: 10))
        #expect(r39 == .none)
        let r40 = machine.drainRequested(Buffers(unreadInput: 3, parserIdle: false))
        #expect(r40 == .none)
        let r41 = machine.outputDrained(Buffers(), draining: true)
        #expect(r41 == Actions(close: .draining))
    }

    @Test func reentrantProcessingIsRefused() {
        var machine = Machine(limits: Self.limits)
        let r42 = machine.processingStarted()
        #expect(r42)
        let r43 = machine.processingStarted()
        #expect(!r43)
        machine.processingEnded()
        let r44 = machine.processingStarted()
        #expect(r44)
    }

    @Test func aResetClosesOnce() {
        var machine = Self.handling()
        let r45 = machine.connectionFailed()
        #expect(r45 == Actions(close: .peerGone))
        let r46 = machine.connectionFailed()
        #expect(r46 == .none)
        let r47 = machine.replySent(close: false, Self.empty)
        #expect(r47 == .none)
    }
}
