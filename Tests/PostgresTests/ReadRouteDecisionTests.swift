import Testing

@testable import Postgres

/// Where a read goes, without a database: the rule `PostgresReadRouter` applies.
@Suite struct ReadRouteDecisionTests {
    let start = ContinuousClock.now

    @Test func noMeasurementYetMeansPrimary() {
        let decision = ReadRouteDecision(maxLag: .seconds(5), measurementValidity: .seconds(3))
        #expect(decision.target(replicaConnected: true, now: start) == .primary(.lagUnknown))
        #expect(decision.target(replicaConnected: false, now: start) == .primary(.replicaDown))
    }

    @Test func lagWithinTheBoundIsTheReplicaUpToAndIncludingTheBound() {
        var decision = ReadRouteDecision(maxLag: .seconds(5), measurementValidity: .seconds(3))
        decision.lagMeasured(.seconds(5), at: start)
        #expect(decision.target(replicaConnected: true, now: start) == .replica)
        decision.lagMeasured(.seconds(5) + .microseconds(1), at: start)
        #expect(decision.target(replicaConnected: true, now: start) == .primary(.replicaLagging))
        decision.lagMeasured(.zero, at: start)
        #expect(decision.target(replicaConnected: true, now: start) == .replica)
        #expect(decision.target(replicaConnected: false, now: start) == .primary(.replicaDown))
    }

    @Test func aStaleMeasurementIsNotTrusted() {
        var decision = ReadRouteDecision(maxLag: .seconds(5), measurementValidity: .seconds(3))
        decision.lagMeasured(.zero, at: start)
        #expect(decision.target(replicaConnected: true, now: start + .seconds(3)) == .replica)
        #expect(
            decision.target(replicaConnected: true, now: start + .seconds(3) + .milliseconds(1))
                == .primary(.lagUnknown))
    }

    @Test func losingTheReplicaForgetsItsLag() {
        var decision = ReadRouteDecision(maxLag: .seconds(5), measurementValidity: .seconds(3))
        decision.lagMeasured(.zero, at: start)
        decision.replicaLost()
        #expect(decision.lag == nil)
        #expect(decision.target(replicaConnected: true, now: start) == .primary(.lagUnknown))
    }
}
