import Foundation
import RunSupport

/// Everything a run did or would do: written as report.json, rendered as report.md, and
/// stored in `import_runs.report`.
public struct RunReport: Codable, Sendable {
    public enum Outcome: String, Codable, Sendable {
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

    /// What a tracking run did with its events. Events: read = rejected + informational +
    /// stale + superseded + winners; winners = status changed + confirmed + illegal.
    public struct TrackingCounts: Codable, Sendable, Equatable {
        /// Accepted events that matched exactly one order.
        public var eventsMatched = 0
        /// Matched events whose code maps to no status (counted, never applied).
        public var informational = 0
        /// Events not newer than their order's `status_event_at`.
        public var stale = 0
        /// Events a later event of the same order outranks.
        public var superseded = 0
        public var unknownShipment = 0
        public var ambiguousShipment = 0
        public var illegalTransition = 0
        /// Orders whose status changed.
        public var statusChanged = 0
        /// Orders whose latest event repeats their status (only `status_event_at` moves).
        public var confirmed = 0
        /// Orders given a tracking number by an event that names them.
        public var shippingUpdated = 0
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
    public var database: String
    public var inputs: [Input] = []
    public var startedAt: String
    public var finishedAt: String?
    public var stages: [Stage] = []
    public var counts = Counts()
    /// Tracking runs only.
    public var tracking: TrackingCounts?
    /// Orders runs into an empty source: the created orders that skipped staging (`FirstLoadRows`).
    public var firstLoadOrders: Int?
    public var rejectsByReason: [String: Int] = [:]
    public var rejectExamples: [String: [RejectExample]] = [:]
    /// Where the rejected records were written (input format, with line, reason, message).
    public var rejectsFile: String?

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
