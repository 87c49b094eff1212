import Foundation

/// Runs blocking work (libpq calls) on a thread of its own, never on the concurrency pool.
///
/// The Swift concurrency pool has one thread per core (two here); a blocked libpq call there
/// would stall every task. Each call gets a fresh `Thread`, which is cheap next to a round trip
/// to PostgreSQL and keeps no shared state between callers.
public enum BlockingThread {
    /// Runs `body` on a new thread and resumes with its result.
    public static func run<T: Sendable>(name: String = "orderflow.blocking", _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let thread = Thread {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
            thread.name = name
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}
