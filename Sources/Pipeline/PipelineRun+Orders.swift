import Feeds
import Foundation
import OrderModel
import OrderStore
import PostgresClient
import RunSupport

extension PipelineRun {
    /// Reads the order feeds into the staging tables and classifies every staged order; fills
    /// the report's counts. Returns how many orders the source has (for the mirror guard).
    func stageAndDiffOrders(_ conn: PostgresConnection, inputs: [String], clock: StageClock, report: inout RunReport,
                                    now: Timestamp) throws -> Int {
        try conn.execute(OrderDiffSQL.createLines)
        try conn.execute(OrderDiffSQL.createOrders)
        let sizes = report.inputs.map(\.bytes)
        var firstLoaded: OrderFeedReader.Stats?
        if options.firstLoad, try conn.query(PostgresQuery(unsafeSQL: OrderDiffSQL.sourceIsEmpty, binds: [definition.source])).rows[0].decode("empty", as: Bool.self) {
            try conn.execute("SAVEPOINT first_load")
            firstLoaded = try firstLoad(conn, inputs: inputs, sizes: sizes, clock: clock, now: now)
            if firstLoaded == nil {
                // A staged row names an order loaded directly: stage everything instead.
                try conn.execute("ROLLBACK TO SAVEPOINT first_load")
            }
            try conn.execute("RELEASE SAVEPOINT first_load")
        }
        let readStats = try firstLoaded ?? clock.measure("read+stage", rows: { $0.records }) {
            let reader = OrderFeedReader(definition: definition, chunkSize: options.chunkSize)
            return try stage(conn, copy: OrderDiffSQL.copyLines, inputs: inputs, sizes: sizes) { path, i, stats, progress, emit in
                try reader.read(path: path, fileNumber: i, stats: &stats, progress: progress) { _, chunk in try emit(chunk) }
            }
        }
        // Temp tables get no statistics from autovacuum; without them the planner assumes
        // they are tiny and picks nested loops that take minutes on large feeds.
        try step(conn, clock, "diff: analyze staging", "ANALYZE stage_lines")
        try step(conn, clock, "diff: classify orders", OrderDiffSQL.classify(byOrderId: readStats.idKeyedGroups > 0), [definition.source, definition.enforceTransitions ? "true" : "false"])
        try step(conn, clock, "diff: analyze orders", "ANALYZE stage_orders")
        // Two staged orders reach one stored order only through an id and a ref: external refs
        // are unique per source.
        if readStats.idKeyedGroups > 0 {
            try step(conn, clock, "diff: duplicate targets", OrderDiffSQL.rejectDuplicateTargets)
        }
        if try conn.query(PostgresQuery(unsafeSQL: OrderDiffSQL.anyRenumber)).rows[0].decode("any", as: Bool.self) {
            try step(conn, clock, "diff: renumber lines", OrderDiffSQL.renumber)
        }
        try step(conn, clock, "diff: compare items", OrderDiffSQL.flagItemChanges)
        // A first load found the source empty: a mirror run has nothing to delete.
        if definition.mode == .mirror && firstLoaded == nil {
            try step(conn, clock, "diff: mirror deletes", OrderDiffSQL.addMirrorDeletes, [definition.source])
        }
        let summary = try conn.query(PostgresQuery(unsafeSQL: OrderDiffSQL.summary,
                                                   binds: [definition.source, definition.mode == .mirror ? "true" : "false"])).rows[0]
        report.counts = try counts(summary)
        if let loaded = firstLoaded {
            report.counts.recordsRead += loaded.firstLoadRecords
            report.counts.recordsAccepted += loaded.firstLoadRecords
            report.counts.orders += loaded.firstLoadOrders
            report.counts.created += loaded.firstLoadOrders
            report.firstLoadOrders = loaded.firstLoadOrders
        }
        try reconcile(report.counts, read: readStats)
        return try summary.decode("source_orders", as: Int.self)
    }

    func counts(_ row: PostgresRow) throws -> RunReport.Counts {
        var c = RunReport.Counts()
        c.recordsRead = try row.decode("records")
        c.recordsRejected = try row.decode("row_rejected_records", as: Int.self) + row.decode("order_rejected_records", as: Int.self)
        c.recordsAccepted = c.recordsRead - c.recordsRejected
        c.orders = try row.decode("orders")
        c.created = try row.decode("created")
        c.updated = try row.decode("updated")
        c.unchanged = try row.decode("unchanged")
        c.deleted = try row.decode("deleted")
        c.mirrorDeleted = try row.decode("mirror_deleted")
        c.rejectedOrders = try row.decode("rejected")
        c.statusChanged = try row.decode("status_changed")
        c.shippingChanged = try row.decode("shipping_changed")
        c.itemsChanged = try row.decode("items_changed")
        c.otherChanged = try row.decode("other_changed")
        return c
    }

    /// The run fails rather than apply numbers that do not add up.
    func reconcile(_ c: RunReport.Counts, read: OrderFeedReader.Stats) throws {
        if c.recordsRead != read.records {
            throw RunError.reconciliation("read \(read.records) records but staged \(c.recordsRead)")
        }
        if c.recordsAccepted + c.recordsRejected != c.recordsRead {
            throw RunError.reconciliation("records: \(c.recordsAccepted) accepted + \(c.recordsRejected) rejected ≠ \(c.recordsRead) read")
        }
        let sum = c.created + c.updated + c.unchanged + c.deleted + c.rejectedOrders
        if sum != c.orders {
            throw RunError.reconciliation("orders: created + updated + unchanged + deleted + rejected = \(sum) ≠ \(c.orders) accepted orders")
        }
    }
}
