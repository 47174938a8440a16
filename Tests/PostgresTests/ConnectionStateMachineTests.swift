import Testing

@testable import Postgres

@Suite struct ConnectionStateMachineTests {
    @Test func connectsThenSendsQueuedWork() {
        var machine = ConnectionStateMachine()
        #expect(machine.startRequested() == .startConnecting)
        #expect(machine.queryEnqueued() == .none)  // queued while connecting
        #expect(machine.connected() == .sendNext)
        machine.querySent()
        #expect(machine.state == .executing(inFlight: 1))
        #expect(machine.queryEnqueued() == .none)  // depth 1: one statement in flight at a time
        #expect(!machine.canSend)
        #expect(machine.queryFinished() == .sendNext)
        #expect(machine.state == .idle)
    }

    @Test func pipelinesUpToTheBoundAndFreesASlotPerFinishedStatement() {
        var machine = ConnectionStateMachine(maxInFlight: 3)
        _ = machine.startRequested()
        #expect(machine.connected() == .sendNext)
        for expected in 1...3 {
            #expect(machine.canSend)
            machine.querySent()
            #expect(machine.state == .executing(inFlight: expected))
        }
        #expect(!machine.canSend)
        #expect(machine.queryEnqueued() == .none)  // the pipeline is full: the statement waits
        machine.querySent()  // ignored when full
        #expect(machine.inFlight == 3)
        #expect(machine.queryFinished() == .sendNext)
        #expect(machine.state == .executing(inFlight: 2))
        #expect(machine.queryEnqueued() == .sendNext)
        #expect(machine.queryFinished() == .sendNext)
        #expect(machine.queryFinished() == .sendNext)
        #expect(machine.state == .idle)
        #expect(machine.inFlight == 0)
        #expect(machine.queryFinished() == .none)  // nothing in flight: a stray sync changes nothing
    }

    @Test func aDropWithAFullPipelineFailsEverythingAndReconnectsAtOnce() {
        var machine = ConnectionStateMachine(maxInFlight: 4)
        _ = machine.startRequested()
        _ = machine.connected()
        for _ in 0..<4 { machine.querySent() }
        #expect(machine.connectionFailed() == .failAllAndScheduleReconnect(delay: .zero))
        #expect(machine.inFlight == 0)
        #expect(!machine.canSend)
        #expect(machine.queryEnqueued() == .failImmediately)
        #expect(machine.reconnectTimerFired() == .startConnecting)
        #expect(machine.connected() == .sendNext)
        #expect(machine.state == .idle)
    }

    @Test func aDepthBelowOneMeansOne() {
        var machine = ConnectionStateMachine(maxInFlight: 0)
        _ = machine.startRequested()
        _ = machine.connected()
        machine.querySent()
        #expect(!machine.canSend)
        #expect(machine.maxInFlight == 1)
    }

    @Test func failedAttemptsBackOffExponentiallyUpToTheCap() {
        var machine = ConnectionStateMachine(backoff: .init(initial: .milliseconds(50), maximum: .milliseconds(300)))
        _ = machine.startRequested()
        var delays: [Duration] = []
        for _ in 0..<5 {
            guard case .failAllAndScheduleReconnect(let delay) = machine.connectionFailed() else {
                Issue.record("expected a reconnect")
                return
            }
            delays.append(delay)
            #expect(machine.queryEnqueued() == .failImmediately)  // fast failure while down
            #expect(machine.reconnectTimerFired() == .startConnecting)
        }
        #expect(
            delays == [
                .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(300), .milliseconds(300),
            ])
        #expect(machine.connected() == .sendNext)
    }

    @Test func aDroppedConnectionReconnectsAtOnceAndFailsInFlightWork() {
        var machine = ConnectionStateMachine()
        _ = machine.startRequested()
        _ = machine.connected()
        machine.querySent()
        #expect(machine.connectionFailed() == .failAllAndScheduleReconnect(delay: .zero))
        #expect(machine.state == .waitingToReconnect(attempt: 0))
        #expect(machine.queryFinished() == .none)  // a late result after the drop is ignored
    }

    @Test func closeIsFinal() {
        var machine = ConnectionStateMachine()
        _ = machine.startRequested()
        #expect(machine.closeRequested() == .failAllAndClose)
        #expect(machine.closeRequested() == .none)
        #expect(machine.queryEnqueued() == .failImmediately)
        #expect(machine.reconnectTimerFired() == .none)
    }
}
