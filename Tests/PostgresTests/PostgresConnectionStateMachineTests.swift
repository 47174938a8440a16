import Testing

@testable import Postgres

@Suite struct PostgresConnectionStateMachineTests {
    typealias Machine = PostgresConnectionStateMachine<String>

    static let rows = PostgresResult(columns: ["id"], rows: [["7"]], affectedRows: nil)
    static let inserted = PostgresResult(columns: [], rows: [], affectedRows: 1)
    static let duplicate = PostgresError(.query, "duplicate key", sqlState: "23505")
    static let lost = PostgresError(.connection, "connection lost")

    /// Connected, with `statements` sent in order.
    static func executing(_ statements: [String], maxInFlight: Int = 8) -> Machine {
        var machine = Machine(maxInFlight: maxInFlight)
        _ = machine.startRequested()
        _ = machine.connected()
        for statement in statements { machine.querySent(statement) }
        return machine
    }

    @Test func connectsThenSendsQueuedWork() {
        var machine = Machine()
        #expect(machine.startRequested() == .startConnecting)
        #expect(machine.queryEnqueued() == .none)  // queued while connecting
        #expect(machine.connected() == .sendNext)
        machine.querySent("a")
        #expect(machine.state == .executing)
        #expect(machine.inFlight == 1)
        #expect(machine.queryEnqueued() == .none)  // depth 1: one statement in flight at a time
        #expect(!machine.canSend)
        #expect(machine.resultReceived(.success(Self.rows)) == .none)
        #expect(machine.syncReceived() == .completeAndSendNext("a", outcome: .success(Self.rows)))
        #expect(machine.state == .idle)
    }

    @Test func pipelinesUpToTheBoundAndFreesASlotPerFinishedStatement() {
        var machine = Self.executing([], maxInFlight: 3)
        for (count, statement) in ["a", "b", "c"].enumerated() {
            #expect(machine.canSend)
            machine.querySent(statement)
            #expect(machine.inFlight == count + 1)
        }
        #expect(!machine.canSend)
        #expect(machine.queryEnqueued() == .none)  // the pipeline is full: the statement waits
        #expect(Array(machine.inFlightStatements) == ["a", "b", "c"])
        _ = machine.resultReceived(.success(Self.inserted))
        #expect(machine.syncReceived() == .completeAndSendNext("a", outcome: .success(Self.inserted)))
        #expect(machine.inFlight == 2)
        #expect(machine.queryEnqueued() == .sendNext)
        _ = machine.resultReceived(.success(Self.rows))
        #expect(machine.syncReceived() == .completeAndSendNext("b", outcome: .success(Self.rows)))
        _ = machine.resultReceived(.success(Self.inserted))
        #expect(machine.syncReceived() == .completeAndSendNext("c", outcome: .success(Self.inserted)))
        #expect(machine.state == .idle)
        #expect(machine.inFlight == 0)
        #expect(machine.syncReceived() == .none)  // nothing in flight: a stray sync changes nothing
        #expect(machine.resultReceived(.success(Self.rows)) == .none)
    }

    @Test func aStatementEndsWithItsFirstErrorOrElseItsLastResult() {
        var machine = Self.executing(["two results", "error then result", "no result"])
        _ = machine.resultReceived(.success(Self.inserted))
        _ = machine.resultReceived(.success(Self.rows))
        #expect(machine.syncReceived() == .completeAndSendNext("two results", outcome: .success(Self.rows)))
        #expect(machine.resultReceived(.failure(Self.duplicate)) == .none)  // no prepare: nothing to forget
        _ = machine.resultReceived(.failure(Self.lost))
        _ = machine.resultReceived(.success(Self.rows))
        #expect(machine.syncReceived() == .completeAndSendNext("error then result", outcome: .failure(Self.duplicate)))
        #expect(
            machine.syncReceived()
                == .completeAndSendNext(
                    "no result", outcome: .failure(PostgresError(.query, "statement returned no result"))))
    }

    @Test func aFailedPrepareIsForgottenAndIsTheStatementsOutcome() {
        var machine = Self.executing([])
        machine.querySent("prepares", prepares: true)
        machine.querySent("prepares too", prepares: true)
        #expect(machine.resultReceived(.failure(Self.duplicate)) == .forgetPreparedName(of: "prepares"))
        #expect(machine.resultReceived(.failure(Self.lost)) == .none)  // the aborted execution
        #expect(machine.syncReceived() == .completeAndSendNext("prepares", outcome: .failure(Self.duplicate)))
        // A prepare that succeeded, then a failing execution: the name stays prepared.
        #expect(machine.resultReceived(.success(Self.inserted)) == .none)
        #expect(machine.resultReceived(.failure(Self.duplicate)) == .none)
        #expect(machine.syncReceived() == .completeAndSendNext("prepares too", outcome: .failure(Self.duplicate)))
    }

    @Test func aDropWithAFullPipelineFailsEverythingAndReconnectsAtOnce() {
        var machine = Self.executing(["a", "b", "c", "d"], maxInFlight: 4)
        _ = machine.resultReceived(.success(Self.rows))  // a's result, its sync never comes
        #expect(
            machine.connectionFailed(Self.lost)
                == .failAllAndScheduleReconnect(delay: .zero, error: Self.lost, inFlight: ["a", "b", "c", "d"]))
        #expect(machine.inFlight == 0)
        #expect(!machine.canSend)
        #expect(machine.queryEnqueued() == .failImmediately)
        #expect(machine.syncReceived() == .none)  // a late sync after the drop is ignored
        #expect(machine.reconnectTimerFired() == .startConnecting)
        #expect(machine.connected() == .sendNext)
        #expect(machine.state == .idle)
        machine.querySent("e")
        #expect(
            machine.syncReceived()
                == .completeAndSendNext("e", outcome: .failure(PostgresError(.query, "statement returned no result"))))
    }

    @Test func aDepthBelowOneMeansOne() {
        var machine = Self.executing([], maxInFlight: 0)
        machine.querySent("a")
        #expect(!machine.canSend)
        #expect(machine.maxInFlight == 1)
    }

    @Test func failedAttemptsBackOffExponentiallyUpToTheCap() {
        var machine = Machine(backoff: .init(initial: .milliseconds(50), maximum: .milliseconds(300)))
        _ = machine.startRequested()
        var actions: [Machine.Action] = []
        for _ in 0..<5 {
            actions.append(machine.connectionFailed(Self.lost))
            #expect(machine.queryEnqueued() == .failImmediately)  // fast failure while down
            #expect(machine.reconnectTimerFired() == .startConnecting)
        }
        #expect(
            actions
                == [50, 100, 200, 300, 300].map {
                    .failAllAndScheduleReconnect(delay: .milliseconds($0), error: Self.lost, inFlight: [])
                })
        #expect(machine.connected() == .sendNext)
    }

    @Test func aDroppedConnectionReconnectsAtOnceAndFailsInFlightWork() {
        var machine = Self.executing(["a"])
        #expect(
            machine.connectionFailed(Self.lost)
                == .failAllAndScheduleReconnect(delay: .zero, error: Self.lost, inFlight: ["a"]))
        #expect(machine.state == .waitingToReconnect(attempt: 0))
        #expect(machine.connectionFailed(Self.lost) == .none)  // already down
        #expect(machine.resultReceived(.success(Self.rows)) == .none)  // a late result after the drop is ignored
    }

    @Test func closeIsFinal() {
        var machine = Self.executing(["a", "b"])
        #expect(machine.closeRequested() == .failAllAndClose(inFlight: ["a", "b"]))
        #expect(machine.inFlight == 0)
        #expect(machine.closeRequested() == .none)
        #expect(machine.queryEnqueued() == .failImmediately)
        #expect(machine.reconnectTimerFired() == .none)
        #expect(machine.connectionFailed(Self.lost) == .none)
    }
}
