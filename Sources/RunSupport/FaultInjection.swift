import Foundation

/// Kills the process at a named point of a run when `ORDERFLOW_FAULT_AT` names it, so tests can
/// prove that a run killed anywhere leaves the database as it was (SQLite-style anomaly
/// testing). The points are the start of every stage the report times (`hash`, `read+stage`,
/// `diff: classify orders`, `apply: insert orders`, …) plus `read+stage: first chunk` (COPY
/// streaming), `report written` and `commit` (just before COMMIT); for exports `export: commit`
/// (the ledger row and the file's bytes written, before COMMIT) and `export: rename` (after it).
/// `isActive` names faults that change a result instead (`export: miscount`: the summary loses a row).
/// Unset (always, outside tests), it costs one comparison per point.
public enum FaultInjection {
    public static let target: String? = ProcessInfo.processInfo.environment["ORDERFLOW_FAULT_AT"]

    /// True when the named fault (one that changes what a step computes, not a kill) is asked for.
    @inline(__always)
    public static func isActive(_ name: String) -> Bool { target == name }

    /// SIGKILL now if this is the named point: no cleanup, no rollback from our side.
    @inline(__always)
    public static func point(_ name: String) {
        guard let target, target == name else { return }
        kill(getpid(), SIGKILL)
    }
}
