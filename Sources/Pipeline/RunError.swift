import ErrorCodes

/// Codes of `RunError`.
public enum RunStop {}

/// Why a run stopped without applying; the CLI maps the codes to exit codes 1, 2 and 3.
public typealias RunError = CodedError<RunStop>

extension CodedError where Domain == RunStop {
    static func configuration(_ message: String) -> RunError { RunError(.configuration, message) }
    static func guardExceeded(_ message: String) -> RunError { RunError(.guardExceeded, message) }
    static func reconciliation(_ message: String) -> RunError { RunError(.reconciliation, message) }
    static func cancelled(_ message: String) -> RunError { RunError(.cancelled, message) }
    static func concurrentChange(_ message: String) -> RunError { RunError(.concurrentChange, message) }
    static func lockTimeout(_ message: String) -> RunError { RunError(.lockTimeout, message) }
}

extension ErrorCode where Domain == RunStop {
    /// Bad pipeline or feed shape, or a resource the run needs (exit 2).
    public static let configuration = Self("configuration")
    /// A guard was exceeded (exit 3); the report says which.
    public static let guardExceeded = Self("guardExceeded")
    /// Counts did not reconcile: a bug, never applied (exit 1).
    public static let reconciliation = Self("reconciliation")
    /// Stopped on request (SIGINT/SIGTERM); rolled back (exit 1).
    public static let cancelled = Self("cancelled")
    /// Another writer changed orders this run was about to change; rolled back (exit 1).
    public static let concurrentChange = Self("concurrentChange")
    /// Another bulk run kept the lock past `--lock-timeout` (exit 2); nothing was read.
    public static let lockTimeout = Self("lockTimeout")
}
