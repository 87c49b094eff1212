import Foundation
import Logging
import Monitoring
import Notifications
import OrderModel
import Pipeline
import PostgresClient
import Reports

/// What happens after a run ended, whatever its outcome: its webhooks are told, and its metrics
/// file is written. Neither ever changes the run's outcome or exit code.
struct RunFollowUp {
    var metricsFile: String?
    var environment = ProcessInfo.processInfo.environment

    /// Why the pipeline's follow-up cannot work (a webhook's secret is not set), checked before
    /// the run starts: a night whose alerts cannot be signed must not start unnoticed.
    static func configurationProblem(_ definition: PipelineDefinition,
                                     environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let missing = definition.notify.compactMap { $0.missingSecret(in: environment) }
        guard let name = missing.first else { return nil }
        return "notify: the webhook secret variable \(name) (secret_env) is not set"
    }

    /// Notifies, records the notifications, writes the metrics; returns the report as it now
    /// stands (with its notifications).
    @discardableResult
    func finished(_ report: RunReport, definition: PipelineDefinition, conn: PostgresConnection?) -> RunReport {
        var report = report
        if !definition.notify.isEmpty { notify(&report, definition: definition, conn: conn) }
        if let metricsFile { writeMetrics(report, to: metricsFile, conn: conn) }
        return report
    }

    func notify(_ report: inout RunReport, definition: PipelineDefinition, conn: PostgresConnection?) {
        let counts = report.counts
        var numbers: [String: Int] = [
            "recordsRead": counts.recordsRead, "recordsAccepted": counts.recordsAccepted, "recordsRejected": counts.recordsRejected,
            "orders": counts.orders, "created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged,
            "deleted": counts.deleted, "mirrorDeleted": counts.mirrorDeleted, "rejectedOrders": counts.rejectedOrders,
        ]
        if let t = report.tracking {
            numbers["statusChanged"] = t.statusChanged
            numbers["shipmentsAdded"] = t.shipmentsAdded
            numbers["shipmentStatusChanged"] = t.shipmentStatusChanged
            numbers["held"] = t.held
            numbers["released"] = t.released
        }
        let notification = RunNotification(
            event: RunNotification.event(outcome: report.outcome.rawValue, rejected: counts.recordsRejected),
            runId: report.runId, historyId: report.importRunId, pipeline: report.pipeline, kind: report.kind,
            outcome: report.outcome.rawValue, message: report.message, counts: numbers, inputs: report.inputs.map(\.name),
            reportPath: report.reportDirectory, startedAt: report.startedAt, finishedAt: report.finishedAt ?? Timestamp.now.description)
        let deliveries = WebhookSender(logger: Logger(label: "orderflow.notify")).deliver(notification, to: definition.notify, environment: environment)
        guard !deliveries.isEmpty else { return }
        report.notifications = deliveries
        for failed in deliveries where !failed.delivered {
            note("warning: webhook \(failed.url) not told about the run: \(failed.error ?? "not delivered")")
        }
        // The report files and the history now say who was told (best effort, like the telling).
        if let directory = report.reportDirectory { try? ReportWriter(directory: URL(fileURLWithPath: directory)).write(report) }
        if let conn { try? RunHistory.noteNotifications(report, on: conn) }
    }

    func writeMetrics(_ report: RunReport, to path: String, conn: PostgresConnection?) {
        let started = Timestamp(rfc3339: report.startedAt)?.unixSeconds ?? Timestamp.now.unixSeconds
        let finished = report.finishedAt.flatMap { Timestamp(rfc3339: $0)?.unixSeconds } ?? Timestamp.now.unixSeconds
        // The history knows the last success; without a database, the file still does.
        let lastSuccess: Double?
        if let conn, let value = try? conn.query("""
            SELECT extract(epoch FROM max(finished_at))::float8 AS t FROM import_runs
            WHERE pipeline = \(report.pipeline) AND status IN ('applied', 'skipped')
            """).first?["t"] {
            lastSuccess = Double(value)
        } else {
            let existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            lastSuccess = MetricsTextFile.value(of: "orderflow_job_last_success_timestamp_seconds", command: "run", pipeline: report.pipeline, in: existing)
        }
        var metrics = JobMetrics(command: "run", pipeline: report.pipeline, kind: report.kind, outcome: report.outcome.rawValue,
                                 startedAt: started, finishedAt: finished, lastSuccessAt: lastSuccess)
        metrics.stages = report.stages.map { (name: $0.name, seconds: $0.seconds) }
        let c = report.counts
        metrics.records = ["read": c.recordsRead, "accepted": c.recordsAccepted, "rejected": c.recordsRejected]
        metrics.rejectsByReason = report.rejectsByReason
        if let t = report.tracking {
            metrics.changes = ["status_changed": t.statusChanged, "shipments_added": t.shipmentsAdded,
                               "shipment_status_changed": t.shipmentStatusChanged, "confirmed": t.confirmed, "held": t.held,
                               "released": t.released, "expired": t.expired]
        } else {
            metrics.changes = ["created": c.created, "updated": c.updated, "unchanged": c.unchanged, "deleted": c.deleted,
                               "mirror_deleted": c.mirrorDeleted, "status_changed": c.statusChanged,
                               "shipping_changed": c.shippingChanged, "items_changed": c.itemsChanged]
        }
        do {
            try MetricsTextFile.write(metrics, to: path)
        } catch {
            note("warning: cannot write the metrics file \(path): \(error)")
        }
    }
}
