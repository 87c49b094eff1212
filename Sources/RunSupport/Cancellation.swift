import PostgresClient
import Synchronization

/// Lets another thread (a signal handler, a test) stop a run or an export: the statement in
/// flight is cancelled on the server and the work rolls back. Once a run has begun to commit it
/// is too late, and the request is refused.
public final class Cancellation: Sendable {
    private struct State {
        var reason: String?
        var handle: CancelHandle?
        var committing = false
    }
    private let state = Mutex(State())

    public init() {}

    /// Asks the work to stop; false when it is already committing.
    @discardableResult
    public func cancel(reason: String) -> Bool {
        state.withLock { s in
            if s.committing { return false }
            if s.reason == nil {
                s.reason = reason
                s.handle?.cancel()
            }
            return true
        }
    }

    /// Why the work was asked to stop, or `nil`.
    public var requested: String? { state.withLock { $0.reason } }

    /// The connection whose statement a cancel interrupts (`nil` when the work leaves it).
    public func attach(_ handle: CancelHandle?) {
        state.withLock { s in
            s.handle = handle
            if s.reason != nil { handle?.cancel() }
        }
    }

    /// The point of no return: the pending reason, if any; otherwise later requests are refused.
    public func beginCommit() -> String? {
        state.withLock { s in
            if let reason = s.reason { return reason }
            s.committing = true
            return nil
        }
    }
}
