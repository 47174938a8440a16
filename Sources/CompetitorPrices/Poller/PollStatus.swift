/// How one source's run ended; stored in `poll_runs.status`.
public enum PollStatus: String, Sendable, Equatable {
    /// Still going, or the process died during it (`abandoned` once a later run sees it).
    case running
    /// Every page up to `total` was fetched and used.
    case ok
    /// Some pages were stored, but a page failed or the run stopped before `total`.
    case partial
    /// Nothing could be stored: the source was unreachable, refused, or answered nonsense.
    case failed
    /// Another process held this source's lock (it was polling it already).
    case skipped
    case cancelled
    case abandoned
}
