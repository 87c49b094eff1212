import ErrorCodes

/// Codes of `ExportError`.
public enum ExportFailure {}

/// Why an export failed, with what the user needs to act on it.
public typealias ExportError = CodedError<ExportFailure>

extension ErrorCode where Domain == ExportFailure {
    /// A wrong period, time zone, filter or option (exit 2).
    public static let invalidDefinition = Self("invalidDefinition")
    /// The output file could not be created, written, synced or renamed.
    public static let output = Self("output")
    /// Stopped on request (SIGINT/SIGTERM or the caller).
    public static let cancelled = Self("cancelled")
    /// A row the summary could not read (a bug, or data no writer of ours produces).
    public static let unexpectedRow = Self("unexpectedRow")
}
