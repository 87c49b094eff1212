import Foundation

// A pool of threads that own their connection, not a library pool: libpq blocks, so each connection
// needs a thread of its own, and no pool on this machine hands out blocking connections.

/// A fixed set of connections, each owned by a thread of its own, for async callers.
///
/// libpq blocks, and a `PostgresConnection` must stay on one thread: each worker thread opens
/// its connection, takes jobs from a shared queue and resumes the caller's continuation, so no
/// blocking call ever runs on the concurrency pool. A connection that broke is dropped and the
/// next job on that thread reconnects, so the pool recovers by itself after a database restart.
public final class PostgresConnectionPool: Sendable {
    /// How the pool connects and what every session is set up with.
    public struct Configuration: Sendable {
        /// libpq conninfo or URL ("" = libpq's environment).
        public var conninfo: String
        /// Asked again before every reconnect, when set: a server that came back elsewhere (the
        /// embedded cluster picks a new port on each start) is found without a restart.
        public var currentConninfo: (@Sendable () -> String?)?
        /// Worker threads, one connection each.
        public var size: Int
        /// Upper bound for any statement, so a request never hangs (milliseconds, 0 = none).
        public var statementTimeoutMilliseconds: Int
        /// Upper bound for waiting on a row lock, e.g. one held by a bulk import (milliseconds).
        public var lockTimeoutMilliseconds: Int
        /// `application_name` of every session, so the server's views tell the pool's sessions
        /// apart (`nil`: libpq's default).
        public var applicationName: String?

        public init(conninfo: String, size: Int = 4, statementTimeoutMilliseconds: Int = 5_000, lockTimeoutMilliseconds: Int = 2_000,
                    applicationName: String? = nil) {
            self.conninfo = conninfo
            self.applicationName = applicationName
            self.size = size
            self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
            self.lockTimeoutMilliseconds = lockTimeoutMilliseconds
        }
    }

    private let configuration: Configuration
    private let queue = JobQueue()

    /// Starts the worker threads; connections open lazily on their first job.
    public init(_ configuration: Configuration) {
        self.configuration = configuration
        for index in 0..<max(1, configuration.size) {
            let queue = queue, configuration = configuration
            let thread = Thread { PostgresConnectionPool.work(queue: queue, configuration: configuration) }
            thread.name = "orderflow.pool.\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Runs `body` with a connection on one of the pool's threads.
    ///
    /// Throws `PostgresError` with code `connectionFailed` when no connection can be opened and
    /// `connectionLost` when it broke during `body`; callers map both to "unavailable".
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = queue.push(Job(
                run: { conn in
                    do { continuation.resume(returning: try body(conn)) } catch { continuation.resume(throwing: error) }
                },
                fail: { error in continuation.resume(throwing: error) }))
            if !accepted {
                continuation.resume(throwing: PostgresError(code: .connectionFailed, message: "the connection pool is shut down"))
            }
        }
    }

    /// How busy the pool is right now (for `/metrics`).
    public struct Statistics: Sendable, Equatable {
        /// Worker threads, one connection each.
        public var size: Int
        /// Connections running a job.
        public var inUse: Int
        /// Jobs queued for a free connection.
        public var waiting: Int
    }

    /// A snapshot of the pool's load.
    public var statistics: Statistics {
        let (running, waiting) = queue.load
        return Statistics(size: max(1, configuration.size), inUse: running, waiting: waiting)
    }

    /// Lets queued jobs finish, then ends the threads and closes their connections.
    public func shutdown() {
        queue.close()
    }

    private static func work(queue: JobQueue, configuration: Configuration) {
        var connection: PostgresConnection?
        while let job = queue.pop() {
            if connection == nil {
                do {
                    connection = try open(configuration)
                } catch {
                    job.fail(error)
                    queue.finished()
                    continue
                }
            }
            job.run(connection!)
            queue.finished()
            if let conn = connection, !conn.isAlive || conn.inTransaction {
                // A broken socket or a transaction left open by a failed job: start clean next time.
                conn.rollbackQuietly()
                if !conn.isAlive || conn.inTransaction { connection = nil }
            }
        }
    }

    private static func open(_ configuration: Configuration) throws -> PostgresConnection {
        let conn = try PostgresConnection(configuration.currentConninfo?() ?? configuration.conninfo)
        try conn.execute("""
            SET statement_timeout = \(max(0, configuration.statementTimeoutMilliseconds));
            SET lock_timeout = \(max(0, configuration.lockTimeoutMilliseconds))
            """)
        if let name = configuration.applicationName {
            try conn.query("SELECT set_config('application_name', \(name), false)")
        }
        return conn
    }
}

/// One unit of work for a pool thread: `run` with a connection, or `fail` when there is none.
private struct Job: Sendable {
    let run: @Sendable (PostgresConnection) -> Void
    let fail: @Sendable (any Error) -> Void
}

/// A FIFO of jobs that pool threads wait on.
private final class JobQueue: @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var closed = false
    private var running = 0

    func push(_ job: Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// The next job; `nil` once the queue is closed and empty.
    func pop() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count && !closed { condition.wait() }
        guard head < jobs.count else { return nil }
        let job = jobs[head]
        head += 1
        running += 1
        if head == jobs.count { jobs.removeAll(keepingCapacity: true); head = 0 }
        return job
    }

    /// A job taken by `pop` is done.
    func finished() {
        condition.lock()
        running -= 1
        condition.unlock()
    }

    /// Jobs running and jobs waiting.
    var load: (running: Int, waiting: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (running, jobs.count - head)
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
