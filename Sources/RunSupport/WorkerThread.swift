import Foundation
import Synchronization

/// Work on a dedicated thread whose result is collected later: a pipeline stage that blocks
/// (reading a feed, compressing an export) must not hold one of the concurrency pool's threads.
public final class WorkerThread<Value: Sendable>: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let result = Mutex<Result<Value, any Error>?>(nil)

    /// Starts `body` on a new thread named `name`.
    public init(name: String, stackSize: Int = 1 << 20, _ body: @escaping @Sendable () throws -> Value) {
        let thread = Thread { [self] in
            let value = Result { try body() }
            result.withLock { $0 = value }
            done.signal()
        }
        thread.name = name
        thread.stackSize = stackSize
        thread.start()
    }

    /// Blocks until the thread has finished; its value or error.
    public func wait() -> Result<Value, any Error> {
        done.wait()
        done.signal() // a second wait returns at once
        return result.withLock { $0! }
    }
}
