import Feeds
import Foundation
import OrderModel
import OrderStore
import PostgresClient
import RunSupport

extension PipelineRun {
    func guardViolation(_ c: RunReport.Counts, sourceOrders: Int) -> String? {
        switch definition.guards.maxRejects {
        case .count(let max) where c.recordsRejected > max:
            return "\(c.recordsRejected) records rejected, more than the guard allows (max_rejects: \(max)); nothing applied"
        case .percent(let p) where c.recordsRead > 0 && Double(c.recordsRejected) * 100 / Double(c.recordsRead) > p:
            return String(format: "%.2f%% of records rejected (%d of %d), more than the guard allows (max_rejects: %g%%); nothing applied",
                          Double(c.recordsRejected) * 100 / Double(c.recordsRead), c.recordsRejected, c.recordsRead, p)
        default:
            break
        }
        guard definition.mode == .mirror else { return nil }
        let deletes = c.deleted + c.mirrorDeleted
        if c.orders == 0 && deletes > 0 {
            return "the feed holds no orders; a mirror run would delete all \(deletes) orders of source \(definition.source). Refused; nothing applied"
        }
        if sourceOrders > 0 && Double(deletes) / Double(sourceOrders) > definition.guards.maxDeleteRatio {
            return String(format: "mirror run would delete %d of %d orders of source %@ (%.1f%%), more than max_delete_ratio %.1f%%; nothing applied",
                          deletes, sourceOrders, definition.source, Double(deletes) * 100 / Double(sourceOrders), definition.guards.maxDeleteRatio * 100)
        }
        return nil
    }
}
