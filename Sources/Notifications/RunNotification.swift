import DefinitionFile
import Foundation

/// What a webhook is told about one finished run: the JSON payload, and the source of the Slack
/// line. It holds names, counts and paths only, never a connection string or a secret.
public struct RunNotification: Codable, Sendable, Equatable {
    /// The `NotifyEvent` raw value (`failed`, `applied_with_rejects`, …).
    public var event: String
    /// The run's id, e.g. `20261202T101010123Z-nightly-ab12`.
    public var runId: String
    /// The run's row in the run history, when it got one.
    public var historyId: Int64?
    /// The pipeline's name.
    public var pipeline: String
    /// The pipeline's kind (`orders`, `tracking`, `shipments`).
    public var kind: String
    /// applied, dry_run, skipped, aborted, failed or cancelled.
    public var outcome: String
    /// Why the run ended as it did, for outcomes other than a clean apply.
    public var message: String?
    /// The run's counts by name (read, created, updated, rejected, …).
    public var counts: [String: Int]
    /// The input files, as given on the command line.
    public var inputs: [String]
    /// Where the run's report was written.
    public var reportPath: String?
    /// RFC 3339.
    public var startedAt: String
    /// RFC 3339.
    public var finishedAt: String

    /// A payload; `event` is derived from `outcome` by `RunNotification.event(outcome:rejected:)`
    /// unless given.
    public init(
        event: NotifyEvent, runId: String, historyId: Int64? = nil, pipeline: String, kind: String, outcome: String,
        message: String? = nil, counts: [String: Int] = [:], inputs: [String] = [], reportPath: String? = nil,
        startedAt: String, finishedAt: String
    ) {
        self.event = event.rawValue
        self.runId = runId
        self.historyId = historyId
        self.pipeline = pipeline
        self.kind = kind
        self.outcome = outcome
        self.message = message
        self.counts = counts
        self.inputs = inputs
        self.reportPath = reportPath
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    /// The event of a run that ended with `outcome`: an apply with rejected rows is its own event,
    /// so a webhook can ask for it without hearing of every clean night. An outcome this version
    /// does not know is `failed`, so that it reaches the webhooks someone watches.
    public static func event(outcome: String, rejected: Int) -> NotifyEvent {
        switch outcome {
        case "applied": rejected > 0 ? .appliedWithRejects : .applied
        case "dry_run": .dryRun
        case "skipped": .skipped
        case "aborted": .aborted
        case "cancelled": .cancelled
        default: .failed
        }
    }

    /// The exact bytes posted for `format: json`: sorted keys, so that equal payloads sign equally.
    public func jsonBody() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    /// The one line a person reads in a chat channel.
    public var summaryLine: String {
        var line = "orderflow \(pipeline): \(outcome)"
        if let message, !message.isEmpty { line += " — \(message)" }
        line += " (run \(runId)"
        if let reportPath { line += ", report \(reportPath)" }
        return line + ")"
    }

    /// The exact bytes posted for `format: slack`.
    public func slackBody() throws -> [UInt8] {
        // Slack reads `<…>` as links and mentions and `&` as an entity, so a message quoting a
        // feed's text must have them escaped (https://api.slack.com/reference/surfaces/formatting).
        let text = summaryLine
            .replacingOccurrences(of: "&", with: "&amp;")
            .replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(["text": text]))
    }

    /// The body for `format`.
    public func body(for format: WebhookFormat) throws -> [UInt8] {
        switch format {
        case .json: try jsonBody()
        case .slack: try slackBody()
        }
    }
}
