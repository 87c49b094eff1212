import Foundation

/// A bounded, blocking hand-off between two dedicated threads: the feed reader and COPY in a
/// run, the COPY reader and the compressor in an export.
///
/// Bounded so a fast producer cannot run ahead of its consumer and fill memory; blocking because
/// both ends are threads, not tasks. Consumed elements can be handed back (`giveBack`) and taken
/// again by the producer (`spare`), so a steady stream of buffers allocates nothing.
/// `@unchecked Sendable`: every field is read and written under `condition`, which also does the
/// waiting a `Mutex` cannot.
public final class BoundedChannel<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [Element] = []
    private var spares: [Element] = []
    private let capacity: Int
    private var finished = false
    private var producerError: (any Error)?
    private var consumerError: (any Error)?

    /// Thrown into the producer when the consumer stopped without an error of its own.
    public struct Cancelled: Error {}

    /// At most `capacity` elements wait between the two threads.
    public init(capacity: Int) { self.capacity = capacity }

    /// Blocks while full; throws the consumer's error (or `Cancelled`) once it has stopped.
    public func send(_ element: Element) throws {
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= capacity && consumerError == nil { condition.wait() }
        if let consumerError { throw consumerError }
        queue.append(element)
        condition.broadcast()
    }

    /// The producer is done; with its error when it failed (the consumer's `receive` rethrows it).
    public func finish(error: (any Error)? = nil) {
        condition.lock()
        finished = true
        producerError = error
        condition.broadcast()
        condition.unlock()
    }

    /// The next element; `nil` at the end or once the consumer stopped; rethrows the producer's error.
    public func receive() throws -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !finished && consumerError == nil { condition.wait() }
        if consumerError != nil { return nil }
        if !queue.isEmpty {
            condition.broadcast()
            return queue.removeFirst()
        }
        if let producerError { throw producerError }
        return nil
    }

    /// The consumer stops: queued elements are dropped and a blocked producer wakes up and throws.
    public func cancel(error: (any Error)? = nil) {
        condition.lock()
        if consumerError == nil { consumerError = error ?? Cancelled() }
        queue.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    /// Hands a consumed element back for the producer to reuse.
    public func giveBack(_ element: Element) {
        condition.lock()
        if spares.count <= capacity { spares.append(element) }
        condition.unlock()
    }

    /// An element handed back earlier, if any.
    public func spare() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        return spares.popLast()
    }
}
