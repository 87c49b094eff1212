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
    /// The file's row count or totals differ from PostgreSQL's over the same snapshot.
    public static let controlTotals = Self("controlTotals")
    /// Another incremental export of the same pipeline and dataset is running.
    public static let busy = Self("busy")
    /// `--rerun` of an export the ledger does not have, or has without its file's bytes.
    public static let notInLedger = Self("notInLedger")
}
