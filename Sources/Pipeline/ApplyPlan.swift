import Feeds
import Foundation
import OrderModel
import OrderStore
import PostgresClient
import RunSupport

/// One apply statement: whether the counts say it has work (a statement with nothing to do
/// would still scan every staged row), and the rows it must touch when it guards against
/// concurrent writers.
struct ApplyStatement {
    let name: String
    let sql: String
    let needed: Bool
    let expected: Int?

    init(_ name: String, _ sql: String, _ needed: Bool, _ expected: Int?) {
        self.name = name
        self.sql = sql
        self.needed = needed
        self.expected = expected
    }
}

extension PipelineRun {
    /// The apply statements of this run's kind.
    func applyStatements(_ report: RunReport) -> [ApplyStatement] {
        let c = report.counts
        if let t = report.tracking { return eventApplyStatements(t) }
        let deletes = c.deleted + c.mirrorDeleted
        let loaded = report.firstLoadOrders ?? 0
        let kinds = eventKinds(c, firstLoaded: loaded)
        return [
            ApplyStatement("apply: first load shipments", OrderDiffSQL.insertFirstLoadShipments, loaded > 0, nil),
            ApplyStatement("apply: first load most recent shipment", OrderDiffSQL.firstLoadLastShipment, loaded > 0, nil),
            ApplyStatement("apply: history events (first load)", OrderDiffSQL.insertFirstLoadEvents, loaded > 0, loaded),
            ApplyStatement("apply: insert orders", OrderDiffSQL.insertOrders, c.created > loaded, nil),
            ApplyStatement("apply: insert items", OrderDiffSQL.insertCreatedItems, c.created > loaded, nil),
            ApplyStatement("apply: update orders", OrderDiffSQL.updateOrders, c.updated > 0, c.updated),
            ApplyStatement("apply: delete changed items", OrderDiffSQL.deleteChangedItems, c.itemsChanged > 0, nil),
            ApplyStatement("apply: insert changed items", OrderDiffSQL.insertChangedItems, c.itemsChanged > 0, nil),
            ApplyStatement("apply: shipments", OrderDiffSQL.insertFeedShipments, c.created > loaded || c.shippingChanged > 0, nil),
            ApplyStatement("apply: most recent shipment", OrderDiffSQL.refreshOrderTracking, c.shippingChanged > 0, nil),
            ApplyStatement("apply: history events", OrderDiffSQL.insertEvents(kinds), !kinds.isEmpty, nil),
            ApplyStatement("apply: delete orders", OrderDiffSQL.deleteOrders, deletes > 0, deletes),
        ]
    }

    /// Runs the statements that have work, each timed. Rows that another writer (the API)
    /// changed after the diff read them are skipped by a statement's updated_at check:
    /// applying the rest would report what did not happen, and overwriting them would lose
    /// that writer's update.
    func applyAll(_ conn: PostgresConnection, clock: StageClock, _ statements: [ApplyStatement], binds: [String?], params: String) throws {
        for statement in statements where statement.needed {
            let rows = try step(conn, clock, statement.name, params + statement.sql, binds)
            if let expected = statement.expected, rows != expected {
                throw RunError.concurrentChange("\(expected - rows) of \(expected) rows were changed by another writer while this run was diffing (\(statement.name)); nothing was applied: run it again")
            }
        }
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
