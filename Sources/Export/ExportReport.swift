import Foundation
import RunSupport

/// What an export wrote: written as report.json, rendered as report.md and report.html.
public struct ExportReport: Codable, Sendable {
    public enum Outcome: String, Codable, Sendable { case exported, failed, cancelled }

    /// The period as asked for and as the instants it resolved to (half-open: `[from, to)`).
    public struct Period: Codable, Sendable, Equatable {
        public var on: String
        public var timezone: String
        public var from: String?
        public var to: String?
        /// Exact instants in UTC; `nil` is an open end.
        public var fromInstant: String?
        public var toInstant: String?
    }

    public struct Filters: Codable, Sendable, Equatable {
        public var status: [String]
        public var source: [String]
        public var customer: [String]
    }

    /// The file as written.
    public struct Output: Codable, Sendable, Equatable {
        /// `-` for standard output.
        public var path: String
        public var format: String
        public var gzip: Bool
        public var bom: Bool
        /// CSV text cells that could start a formula are prefixed with `'`; xlsx cells are typed
        /// (a text cell is never a formula).
        public var spreadsheetSafe: Bool
        /// Data rows (header not counted).
        public var rows: Int
        public var bytes: Int64
        /// Of the bytes as written (for a gzip file: compressed).
        public var sha256: String
    }

    /// What an incremental export covered: rows written by transactions `since` did not see
    /// and `until` did (`pg_snapshot` text, docs/export.md#incremental-exports).
    public struct Incremental: Codable, Sendable, Equatable {
        /// The snapshot of the export it continues (`nil`: the first one, which takes everything).
        public var since: String?
        /// That export's ledger id.
        public var sinceExport: Int64?
        /// This export's snapshot: where the next one continues.
        public var until: String
    }

    public var exportId: String
    /// The export's id in the ledger (`export_runs.id`, `orderflow export --rerun ID`).
    public var ledgerId: Int64?
    public var pipeline: String
    public var pipelineFile: String
    public var dataset: String
    public var outcome: Outcome
    public var message: String?
    /// Without password.
    public var database: String
    public var period: Period
    public var filters: Filters
    public var output: Output?
    public var summary: ExportSummary?
    /// Present for incremental exports.
    public var incremental: Incremental?
    /// PostgreSQL's figures over the same snapshot, checked equal to `summary` before the file was kept.
    public var control: ControlTotals?
    public var stages: [StageTiming] = []
    public var startedAt: String
    public var finishedAt: String?

    public init(exportId: String, definition: ExportDefinition, database: String, startedAt: String) {
        self.exportId = exportId
        pipeline = definition.name
        pipelineFile = definition.file
        dataset = definition.dataset.rawValue
        outcome = .failed
        self.database = database
        period = Period(on: definition.timeField.rawValue, timezone: definition.timezone,
                        from: definition.from?.description, to: definition.to?.description)
        filters = Filters(status: definition.statuses, source: definition.sources, customer: definition.customers)
        self.startedAt = startedAt
    }
}
