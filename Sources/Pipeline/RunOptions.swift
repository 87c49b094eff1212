import RunSupport

/// How a run should behave beyond its pipeline definition.
public struct RunOptions: Sendable {
    public var dryRun = false
    /// Re-run an input that was already applied (the diff then makes it a no-op).
    public var force = false
    /// How long to wait for another bulk run's lock before giving up.
    public var lockTimeoutSeconds = 60.0
    /// Staging chunk size handed from the reader thread to COPY.
    public var chunkSize = 1 << 20
    /// Set by whoever may stop the run (the CLI's SIGINT/SIGTERM handler).
    public var cancellation: Cancellation?
    /// Load orders that can only be creates straight into the final tables when the source has
    /// no orders yet (see `FirstLoadRows`); off, every row is staged (tests compare the two).
    public var firstLoad = true
    /// Where the run's report is written (stored in the run history with it).
    public var reportDirectory: String?
    /// Called between the diff and the apply (tests use it to play a concurrent writer).
    public var beforeApply: (@Sendable () throws -> Void)?
    public init() {}
}

extension RunOptions {
    /// Throws `RunError.cancelled` once a cancel was asked for.
    func checkCancelled() throws {
        if let reason = cancellation?.requested { throw RunError.cancelled(reason) }
    }
}
