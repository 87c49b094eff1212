import DefinitionFile
import Foundation
import RunSupport

/// Everything a run did or would do: written as report.json, rendered as report.md, and
/// stored in `import_runs.report`.
public struct RunReport: Codable, Sendable {
    public enum Outcome: String, Codable, Sendable, CaseIterable {
        case applied, dryRun = "dry_run", aborted, failed, skipped, cancelled
    }

    public struct Input: Codable, Sendable {
        public var name: String
        public var sha256: String
        public var bytes: Int64
        public var format: String
    }

    /// One timed stage (shared with the export report).
    public typealias Stage = StageTiming

    /// Counts that must reconcile: records = accepted + rejected; orders = created + updated +
    /// unchanged + deleted + rejected.
    public struct Counts: Codable, Sendable, Equatable {
        public var recordsRead = 0
        public var recordsAccepted = 0
        public var recordsRejected = 0
        public var orders = 0
        public var created = 0
        public var updated = 0
        public var unchanged = 0
        public var deleted = 0
        public var mirrorDeleted = 0
        public var rejectedOrders = 0
        public var statusChanged = 0
        public var shippingChanged = 0
        public var itemsChanged = 0
        public var otherChanged = 0
        public init() {}
    }

    /// What a run did with carrier events (docs/tracking.md, "Counts"). Feed events: read =
    /// rejected + held + matched. Matches (event × shipment or order): informational + stale +
    /// superseded + winners; winners: changed + confirmed + illegal. Held events of earlier runs
    /// that match now are `released` and go through the same steps.
    public struct TrackingCounts: Codable, Sendable, Equatable {
        /// Feed events that matched at least one shipment or order.
        public var eventsMatched = 0
        /// Event × shipment (or order) pairs: one event of a consolidated shipment moves each order.
        public var matches = 0
        /// Matches whose code maps to no status (logged, never applied).
        public var informational = 0
        /// Matches not newer than their shipment's (or order's) `status_event_at`.
        public var stale = 0
        /// Matches a later event of the same shipment outranks.
        public var superseded = 0
        /// Feed events that match nothing yet, kept for a later run.
        public var held = 0
        /// Events held by earlier runs that matched in this one (applied or rejected).
        public var released = 0
        /// Held events past their pipeline's `hold_days`, dropped by this run.
        public var expired = 0
        /// Released events rejected (not lines of this run's feeds, so not in its rejects file).
        public var releasedRejected = 0
        public var unknownShipment = 0
        public var ambiguousShipment = 0
        /// Winning events rejected: their move is not allowed.
        public var illegalTransition = 0
        /// Shipments whose status changed.
        public var shipmentStatusChanged = 0
        /// Winners that repeat their shipment's (or order's) status: only `status_event_at` moves.
        public var confirmed = 0
        /// Orders whose status changed.
        public var statusChanged = 0
        /// Orders whose shipments moved but whose status may not follow (e.g. delivered, then a new package).
        public var statusKept = 0
        /// Orders whose status or `status_event_at` this run sets.
        public var ordersTouched = 0
        /// Shipments added to orders by events that name them.
        public var shipmentsAdded = 0
        /// Shipments feeds: (shipment, line) pairs recorded with their quantity.
        public var shipmentLines = 0
        /// Events written to the shipment event log (re-fed events are there already).
        public var eventsLogged = 0
        public var byCarrier: [String: CarrierCounts] = [:]
        public var byStatus: [String: StatusCounts] = [:]
        public init() {}
    }

    public struct CarrierCounts: Codable, Sendable, Equatable {
        public var events = 0
        public var matched = 0
        public var stale = 0
        public var statusChanged = 0
        public init() {}
    }

    /// Per mapped status: events that map to it, and orders moved to it.
    public struct StatusCounts: Codable, Sendable, Equatable {
        public var events = 0
        public var ordersChanged = 0
        public init() {}
    }

    public struct RejectExample: Codable, Sendable {
        public var input: String
        public var line: Int
        public var message: String
    }

    public var runId: String
    /// The run's row in the run history (`import_runs.id`, `orderflow runs ID`).
    public var importRunId: Int64?
    public var pipeline: String
    public var pipelineFile: String
    public var kind: String
    public var mode: String
    public var source: String
    public var dryRun: Bool
    public var outcome: Outcome
    /// Why the run ended as it did, in a sentence (guard exceeded, error, already applied).
    public var message: String?
    /// The `RunError` code of a run that stopped (`guardExceeded`, `lockTimeout`, …), for scripts.
    public var errorCode: String?
    public var database: String
    public var inputs: [Input] = []
    public var startedAt: String
    public var finishedAt: String?
    public var stages: [Stage] = []
    public var counts = Counts()
    /// Tracking runs only.
    public var tracking: TrackingCounts?
    /// Orders and shipments runs: the held carrier events this run's new orders and shipments released.
    public var releasedEvents: TrackingCounts?
    /// Orders runs into an empty source: the created orders that skipped staging (`FirstLoadRows`).
    public var firstLoadOrders: Int?
    public var rejectsByReason: [String: Int] = [:]
    public var rejectExamples: [String: [RejectExample]] = [:]
    /// Where the rejected records were written (input format, with line, reason, message).
    public var rejectsFile: String?
    /// The directory holding report.json, report.md, report.html and the rejects file.
    public var reportDirectory: String?
    /// The webhooks told about this run (written after the run ended).
    public var notifications: [WebhookDelivery]?
    /// Set when the run could not be recorded in the run history (the database was unreachable).
    public var historyError: String?

    public init(runId: String, pipeline: String, pipelineFile: String, kind: String, mode: String, source: String,
                dryRun: Bool, outcome: Outcome, database: String, startedAt: String) {
        self.runId = runId
        self.pipeline = pipeline
        self.pipelineFile = pipelineFile
        self.kind = kind
        self.mode = mode
        self.source = source
        self.dryRun = dryRun
        self.outcome = outcome
        self.database = database
        self.startedAt = startedAt
    }
}
