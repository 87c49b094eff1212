import Foundation
import OrderModel
import PostgresClient
import RunSupport

/// The tracking stages of a run (`kind: tracking`): the same read → stage → diff → apply path
/// as orders, with the event reader and the event diff.
extension PipelineRun {
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
        var t = RunReport.TrackingCounts()
        t.ambiguousShipment = try step(conn, clock, "diff: ambiguous shipments", TrackingDiffSQL.rejectAmbiguous)
        try step(conn, clock, "diff: latest event per order", TrackingDiffSQL.winners, [definition.enforceTransitions ? "true" : "false"])
        try step(conn, clock, "diff: illegal transitions", TrackingDiffSQL.rejectIllegal)
        t.shippingUpdated = try step(conn, clock, "diff: shipping updates", TrackingDiffSQL.shipping)

        let staged = try conn.query(PostgresQuery(unsafeSQL: TrackingDiffSQL.stagedCounts)).rows[0]
        let records: Int = try staged.decode("records")
        let rowRejected: Int = try staged.decode("row_rejected")
        let winners = try clock.measure("diff: counts", rows: 0) {
            try countPerCarrierAndStatus(conn, read: readStats, into: &t)
        }
        t.superseded = t.eventsMatched - t.informational - t.stale - winners
        t.unknownShipment = records - rowRejected - t.eventsMatched - t.ambiguousShipment

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

    /// Per-carrier and per-status counts, and the totals they add up to; returns the winners.
    /// Events per carrier and status come from the reader; the rest from the diff's tables.
    private func countPerCarrierAndStatus(_ conn: PostgresConnection, read: OrderFeedReader.Stats,
                                          into t: inout RunReport.TrackingCounts) throws -> Int {
        for (carrier, n) in read.eventsByCarrier { t.byCarrier[carrier, default: .init()].events = n }
        for (status, n) in read.eventsByStatus { t.byStatus[status, default: .init()].events = n }
        for row in try conn.query(PostgresQuery(unsafeSQL: TrackingDiffSQL.matchesByCarrier)).rows {
            let carrier = row["carrier"] ?? "(none)"
            let matched: Int = try row.decode("matched"), informational: Int = try row.decode("informational"), stale: Int = try row.decode("stale")
            t.byCarrier[carrier, default: .init()].matched = matched
            t.byCarrier[carrier, default: .init()].stale = stale
            t.eventsMatched += matched
            t.informational += informational
            t.stale += stale
        }
        var winners = 0
        for row in try conn.query(PostgresQuery(unsafeSQL: TrackingDiffSQL.winnersByCarrierAndStatus)).rows {
            let n: Int = try row.decode("n")
            winners += n
            switch row["outcome"] {
            case "change":
                t.statusChanged += n
                t.byCarrier[row["carrier"] ?? "(none)", default: .init()].statusChanged += n
                t.byStatus[row["status"] ?? "none", default: .init()].ordersChanged += n
            case "confirm": t.confirmed += n
            default: t.illegalTransition += n
            }
        }
        return winners
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
