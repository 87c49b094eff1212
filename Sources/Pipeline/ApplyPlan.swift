import Feeds
import Foundation
import OrderModel
import OrderStore
import PostgresClient
import RunSupport

extension PipelineRun {
    /// The apply statements of this run's kind, each with whether the counts say it has work
    /// (a statement with nothing to do would still scan every staged row).
    /// `expected`: the rows a statement that guards against concurrent writers must touch.
    func applyStatements(_ report: RunReport) -> [(name: String, sql: String, needed: Bool, expected: Int?)] {
        let c = report.counts
        if let t = report.tracking {
            return [
                ("apply: update status", TrackingDiffSQL.updateStatus, t.statusChanged + t.confirmed > 0, t.statusChanged + t.confirmed),
                ("apply: update shipping", TrackingDiffSQL.updateShipping, t.shippingUpdated > 0, t.shippingUpdated),
                ("apply: history events (status)", TrackingDiffSQL.insertStatusEvents, t.statusChanged > 0, nil),
                ("apply: history events (shipping)", TrackingDiffSQL.insertShippingEvents, t.shippingUpdated > 0, nil),
            ]
        }
        let deletes = c.deleted + c.mirrorDeleted
        let loaded = report.firstLoadOrders ?? 0
        return [
            ("apply: history events (first load)", OrderDiffSQL.insertFirstLoadEvents, loaded > 0, loaded),
            ("apply: insert orders", OrderDiffSQL.insertOrders, c.created > loaded, nil),
            ("apply: insert items", OrderDiffSQL.insertCreatedItems, c.created > loaded, nil),
            ("apply: update orders", OrderDiffSQL.updateOrders, c.updated > 0, c.updated),
            ("apply: delete changed items", OrderDiffSQL.deleteChangedItems, c.itemsChanged > 0, nil),
            ("apply: insert changed items", OrderDiffSQL.insertChangedItems, c.itemsChanged > 0, nil),
            ("apply: history events", OrderDiffSQL.insertEvents(eventKinds(c, firstLoaded: loaded)), !eventKinds(c, firstLoaded: loaded).isEmpty, nil),
            ("apply: delete orders", OrderDiffSQL.deleteOrders, deletes > 0, deletes),
        ]
    }

    /// The history kinds this run writes, from its counts.
    func eventKinds(_ c: RunReport.Counts, firstLoaded: Int) -> Set<OrderDiffSQL.EventKind> {
        var kinds = Set<OrderDiffSQL.EventKind>()
        if c.created > firstLoaded { kinds.insert(.created) }
        if c.statusChanged > 0 { kinds.insert(.statusChanged) }
        if c.shippingChanged > 0 { kinds.insert(.shippingUpdated) }
        if c.itemsChanged > 0 { kinds.insert(.itemsChanged) }
        if c.otherChanged > 0 { kinds.insert(.updated) }
        if c.deleted + c.mirrorDeleted > 0 { kinds.insert(.deleted) }
        return kinds
    }
}
