import Foundation
public import Metrics

/// A metrics backend that remembers values by label and dimensions, to check what the scheduler
/// exports without bootstrapping the process-wide system (the service owns that).
public final class SchedulerTestMetrics: MetricsFactory, @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: Int64] = [:]
    private var doubles: [String: Double] = [:]

    public init() {}

    public static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        ([label] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: " ")
    }

    public func value(_ label: String, _ dimensions: [(String, String)] = []) -> Int64 {
        lock.withLock { values[Self.key(label, dimensions)] ?? 0 }
    }

    public func recorded(_ label: String, _ dimensions: [(String, String)] = []) -> Double? {
        lock.withLock { doubles[Self.key(label, dimensions)] }
    }

    fileprivate func add(_ key: String, _ amount: Int64) {
        lock.withLock { values[key, default: 0] += amount }
    }

    fileprivate func set(_ key: String, _ value: Double) {
        lock.withLock { doubles[key] = value }
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        Handler(key: Self.key(label, dimensions), owner: self)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        Handler(key: Self.key(label, dimensions), owner: self)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        Handler(key: Self.key(label, dimensions), owner: self)
    }

    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}

    /// Counters add, recorders keep the last value, timers count their recordings.
    private final class Handler: CounterHandler, RecorderHandler, TimerHandler, @unchecked Sendable {
        let key: String
        let owner: SchedulerTestMetrics

        init(key: String, owner: SchedulerTestMetrics) {
            self.key = key
            self.owner = owner
        }

        func increment(by amount: Int64) { owner.add(key, amount) }
        func reset() {}
        func record(_ value: Int64) { owner.set(key, Double(value)) }
        func record(_ value: Double) { owner.set(key, value) }
        func recordNanoseconds(_ duration: Int64) { owner.add(key, 1) }
    }
}
