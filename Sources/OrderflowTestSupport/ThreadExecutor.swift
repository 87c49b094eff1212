import Foundation

/// A task executor with a thread of its own.
///
/// Swift Testing runs synchronous tests on the concurrency pool (two threads here), and the
/// database tests block those threads in libpq for seconds at a time. A test that bounds a
/// request's latency runs its server and client under this executor's preference
/// (`withTaskExecutorPreference`), so its bound measures orderflow, not the pool.
public final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    // `jobs` is only touched under `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    /// Starts the executor's thread (it lives as long as the process).
    public init(name: String) {
        let thread = Thread { [unowned self] in run() }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    /// One for the whole test process: the API tests share it.
    public static let api = ThreadExecutor(name: "orderflow.test-api")
}
