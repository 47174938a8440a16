internal import Glibc

/// A value guarded by a pthread mutex, with a condition variable to wait for it to change.
///
/// `Synchronization.Mutex` has no condition variable, and starting or joining loop threads needs
/// one: the caller must sleep until a loop has started (or every loop has stopped). Only threads
/// that are not event-loop threads ever wait here.
final class ConditionLock<State>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var state: State

    init(_ initial: State) {
        state = initial
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Mutates the state and wakes every waiter, since any change may be the one they wait for.
    func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer {
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        return try body(&state)
    }

    /// Sleeps until `isReady` holds, then runs `body` while still holding the lock.
    func wait<Result>(until isReady: (State) -> Bool, then body: (inout State) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer {
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        while !isReady(state) {
            pthread_cond_wait(condition, mutex)
        }
        return try body(&state)
    }
}
