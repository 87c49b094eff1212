import Foundation
import OrderModel
import PostgresClient

/// The tracking stages of a run (`kind: tracking`): the same read → stage → diff → apply path
/// as orders, with the event reader and the event diff.
extension OrderRun {
    /// Reads the event feeds into `stage_events`, matches them to orders, picks each order's
    /// winning event, and fills the report's counts.
    func stageAndDiffTracking(_ conn: PostgresConnection, inputs: [String], clock: StageClock, report: inout RunReport) throws {
        try conn.execute(TrackingDiffSQL.createEvents)
        try conn.execute(TrackingDiffSQL.createRejects)
        let reader = TrackingFeedReader(definition: definition, chunkSize: options.chunkSize)
        let readStats = try clock.measure("read+stage", rows: { $0.records }) {
            try stage(conn, copy: TrackingDiffSQL.copyEvents, inputs: inputs, sizes: report.inputs.map(\.bytes)) { path, i, stats, progress, emit in
                try reader.read(path: path, fileNumber: i, stats: &stats, progress: progress, emit: emit)
            }
        }
        try step(conn, clock, "diff: analyze staging", "ANALYZE stage_events")
        try step(conn, clock, "diff: match by reference", TrackingDiffSQL.matchByReference, [definition.source])
        try step(conn, clock, "diff: match by tracking number", TrackingDiffSQL.matchByTracking)
        try step(conn, clock, "diff: ambiguous shipments", TrackingDiffSQL.rejectAmbiguous)
        try step(conn, clock, "diff: analyze matches", "ANALYZE stage_matches")
        try step(conn, clock, "diff: latest event per order", TrackingDiffSQL.winners, [definition.enforceTransitions ? "true" : "false"])
        try step(conn, clock, "diff: illegal transitions", TrackingDiffSQL.rejectIllegal)
        try step(conn, clock, "diff: shipping updates", TrackingDiffSQL.shipping)

        let row = try conn.query(PostgresQuery(unsafeSQL: TrackingDiffSQL.summary)).rows[0]
        var t = RunReport.TrackingCounts()
        let records: Int = try row.decode("records")
        let rowRejected: Int = try row.decode("row_rejected")
        t.eventsMatched = try row.decode("matched")
        t.informational = try row.decode("informational")
        t.stale = try row.decode("stale")
        t.ambiguousShipment = try row.decode("ambiguous")
        let winners: Int = try row.decode("winners")
        t.statusChanged = try row.decode("changed")
        t.confirmed = try row.decode("confirmed")
        t.illegalTransition = try row.decode("illegal")
        t.shippingUpdated = try row.decode("shipping")
        t.superseded = t.eventsMatched - t.informational - t.stale - winners
        t.unknownShipment = records - rowRejected - t.eventsMatched - t.ambiguousShipment
        try clock.measure("diff: counts per carrier and status", rows: 0) {
            try countPerCarrierAndStatus(conn, into: &t)
        }

        var c = RunReport.Counts()
        c.recordsRead = records
        c.recordsRejected = rowRejected + t.unknownShipment + t.ambiguousShipment + t.illegalTransition
        c.recordsAccepted = records - c.recordsRejected
        c.updated = t.statusChanged + t.shippingUpdated
        c.statusChanged = t.statusChanged
        c.shippingChanged = t.shippingUpdated
        report.counts = c
        report.tracking = t
        try reconcileTracking(t, records: records, rowRejected: rowRejected, winners: winners, read: readStats)
    }

    private func countPerCarrierAndStatus(_ conn: PostgresConnection, into t: inout RunReport.TrackingCounts) throws {
        for row in try conn.query(PostgresQuery(unsafeSQL: TrackingDiffSQL.eventsByCarrierAndStatus)).rows {
            let events: Int = try row.decode("events")
            if try row.decode("by_status", as: Int.self) == 1 {
                t.byStatus[row["status"] ?? "none", default: .init()].events = events
            } else {
                t.byCarrier[row["carrier"] ?? "(none)", default: .init()].events = events
            }
        }
        for row in try conn.query(PostgresQuery(unsafeSQL: TrackingDiffSQL.matchesByCarrier)).rows {
            let carrier = row["carrier"] ?? "(none)"
            t.byCarrier[carrier, default: .init()].matched = try row.decode("matched")
            t.byCarrier[carrier, default: .init()].stale = try row.decode("stale")
        }
        for row in try conn.query(PostgresQuery(unsafeSQL: TrackingDiffSQL.winnersByCarrierAndStatus)).rows where row["outcome"] == "change" {
            let n: Int = try row.decode("n")
            t.byCarrier[row["carrier"] ?? "(none)", default: .init()].statusChanged += n
            t.byStatus[row["status"] ?? "none", default: .init()].ordersChanged += n
        }
    }

    /// Every event has exactly one fate, and the reader and the database agree on the numbers.
    private func reconcileTracking(_ t: RunReport.TrackingCounts, records: Int, rowRejected: Int, winners: Int,
                                   read: OrderFeedReader.Stats) throws {
        if records != read.records || rowRejected != read.rowRejects {
            throw RunError.reconciliation("read \(read.records) events (\(read.rowRejects) rejected) but staged \(records) (\(rowRejected) rejected)")
        }
        if t.superseded < 0 || t.unknownShipment < 0 {
            throw RunError.reconciliation("events: \(t.eventsMatched) matched, \(t.informational) informational, \(t.stale) stale, \(winners) winners, \(records) read do not add up")
        }
        if winners != t.statusChanged + t.confirmed + t.illegalTransition {
            throw RunError.reconciliation("winning events \(winners) ≠ changed \(t.statusChanged) + confirmed \(t.confirmed) + illegal \(t.illegalTransition)")
        }
        let perCarrier = t.byCarrier.values.reduce(0) { $0 + $1.events }
        if perCarrier != records - rowRejected {
            throw RunError.reconciliation("events per carrier add up to \(perCarrier), not \(records - rowRejected) accepted")
        }
    }
}
