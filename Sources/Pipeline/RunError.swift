/// Why a run stopped without applying; the CLI maps the codes to exit codes 1, 2 and 3.
public struct RunError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of stop; extensible without breaking callers that switch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String { case configuration, guardExceeded, reconciliation, cancelled, concurrentChange }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// Bad pipeline or feed shape, or a resource the run needs (exit 2).
        public static let configuration = Code(.configuration)
        /// A guard was exceeded (exit 3); the report says which.
        public static let guardExceeded = Code(.guardExceeded)
        /// Counts did not reconcile: a bug, never applied (exit 1).
        public static let reconciliation = Code(.reconciliation)
        /// Stopped on request (SIGINT/SIGTERM); rolled back (exit 1).
        public static let cancelled = Code(.cancelled)
        /// Another writer changed orders this run was about to change; rolled back (exit 1).
        public static let concurrentChange = Code(.concurrentChange)
        public var description: String { base.rawValue }
    }

    public var code: Code
    /// What happened and what to do about it, for the report and stderr.
    public var message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func configuration(_ message: String) -> RunError { RunError(.configuration, message) }
    static func guardExceeded(_ message: String) -> RunError { RunError(.guardExceeded, message) }
    static func reconciliation(_ message: String) -> RunError { RunError(.reconciliation, message) }
    static func cancelled(_ message: String) -> RunError { RunError(.cancelled, message) }
    static func concurrentChange(_ message: String) -> RunError { RunError(.concurrentChange, message) }
}
