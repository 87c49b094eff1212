/// Why an export failed, with what the user needs to act on it.
public struct ExportError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure; extensible without breaking callers that switch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String { case invalidDefinition, output, cancelled, unexpectedRow }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// A wrong period, time zone, filter or option (exit 2).
        public static let invalidDefinition = Code(.invalidDefinition)
        /// The output file could not be created, written, synced or renamed.
        public static let output = Code(.output)
        /// Stopped on request (SIGINT/SIGTERM or the caller).
        public static let cancelled = Code(.cancelled)
        /// A row the summary could not read (a bug, or data no writer of ours produces).
        public static let unexpectedRow = Code(.unexpectedRow)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
