import Foundation

/// A bounded, blocking hand-off of byte chunks from the reader thread to the COPY writer.
///
/// Bounded so a fast reader cannot run ahead of PostgreSQL and fill memory; blocking because
/// both ends are dedicated threads, not tasks.
final class ChunkChannel: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [[UInt8]] = []
    private let capacity: Int
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false

    /// Thrown into the producer when the consumer gave up.
    struct Cancelled: Error {}

    init(capacity: Int) { self.capacity = capacity }

    /// Blocks while full; throws `Cancelled` once the consumer has stopped.
    func send(_ chunk: [UInt8]) throws {
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= capacity && !cancelled { condition.wait() }
        if cancelled { throw Cancelled() }
        queue.append(chunk)
        condition.broadcast()
    }

    /// Marks the end of the stream, with the producer's error if it failed.
    func finish(error: (any Error)? = nil) {
        condition.lock()
        finished = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk; `nil` at the end; rethrows the producer's error.
    func receive() throws -> [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !finished { condition.wait() }
        if !queue.isEmpty {
            let chunk = queue.removeFirst()
            condition.broadcast()
            return chunk
        }
        if let failure { throw failure }
        return nil
    }

    /// The consumer stops; a blocked producer wakes up and throws.
    func cancel() {
        condition.lock()
        cancelled = true
        queue.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}

/// A result slot filled by another thread, read after it has finished.
final class ThreadResult<T>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var value: T?

    func set(_ v: T) {
        value = v
        done.signal()
    }

    func wait() -> T {
        done.wait()
        return value!
    }
}
