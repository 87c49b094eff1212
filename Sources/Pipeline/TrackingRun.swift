import Foundation
import OrderModel
import PostgresClient
import RunSupport

/// The carrier-event stages of a run: a tracking run's whole diff, and the release of held
/// events that every orders and shipments run ends with (docs/tracking.md).
extension PipelineRun {
    /// Reads the event feeds into `stage_events`, adds the held events, matches them to
    /// shipments and orders, and fills the report's counts.
    func stageAndDiffTracking(_ conn: PostgresConnection, inputs: [String], clock: StageClock, report: inout RunReport, now: Timestamp) throws {
        try conn.execute(TrackingDiffSQL.createEvents)
        let reader = TrackingFeedReader(definition: definition, chunkSize: options.chunkSize, now: now)
        let readStats = try clock.measure("read+stage", rows: { $0.records }) {
            try stage(conn, copy: TrackingDiffSQL.copyEvents, inputs: inputs, sizes: report.inputs.map(\.bytes)) { path, i, stats, progress, emit in
                try reader.read(path: path, fileNumber: i, stats: &stats, progress: progress, emit: emit)
            }
        }
        let t = try diffEvents(conn, clock: clock, now: now, read: readStats)
        var c = RunReport.Counts()
        c.recordsRead = t.records
        c.recordsRejected = t.rowRejected + t.diffRejected + t.counts.unknownShipment
        c.recordsAccepted = c.recordsRead - c.recordsRejected
        c.updated = t.counts.statusChanged + t.counts.shipmentsAdded
        c.statusChanged = t.counts.statusChanged
        c.shippingChanged = t.counts.shipmentsAdded
        report.counts = c
        report.tracking = t.counts
    }

    /// An orders or shipments run, after its own apply: held events whose order or shipment now
    /// exists are applied with the tracking rules. Nil when nothing is held.
    func releaseHeldEvents(_ conn: PostgresConnection, clock: StageClock, now: Timestamp, binds: [String?], params: String) throws -> RunReport.TrackingCounts? {
        let any = try conn.query(PostgresQuery(unsafeSQL: "SELECT EXISTS (SELECT 1 FROM held_events) AS any")).rows[0]
        guard try any.decode("any") as Bool else { return nil }
        try conn.execute(TrackingDiffSQL.createEvents)
        let t = try diffEvents(conn, clock: clock, now: now, read: nil)
        try applyEvents(conn, clock: clock, t.counts, binds: binds, params: params)
        return t.counts
    }

    /// The counts a diff of events produces, and the totals they reconcile with.
    struct EventDiff {
        var counts = RunReport.TrackingCounts()
        var records = 0
        var rowRejected = 0
        var diffRejected = 0
        /// Held events rejected as ambiguous on release.
        var heldAmbiguous = 0
    }

    /// Matches the staged (and held) events, picks the winners and the orders' statuses, and
    /// counts. `read`: the reader's figures, which the database's must equal; nil when only
    /// held events are staged.
    func diffEvents(_ conn: PostgresConnection, clock: StageClock, now: Timestamp, read: OrderFeedReader.Stats?) throws -> EventDiff {
        let settings = definition.tracking
        try conn.execute(TrackingDiffSQL.createRejects)
        try step(conn, clock, "diff: held events", TrackingDiffSQL.restageHeld, [now.postgresText])
        try step(conn, clock, "diff: analyze staging", "ANALYZE stage_events")
        try step(conn, clock, "diff: match by reference", TrackingDiffSQL.matchByReference, [definition.source])
        try step(conn, clock, "diff: match by tracking number", TrackingDiffSQL.matchByTracking, [String(settings.matchWindowDays)])
        var d = EventDiff()
        if settings.sharedTracking == .reject {
            try step(conn, clock, "diff: ambiguous shipments", TrackingDiffSQL.rejectAmbiguous)
            let ambiguous = try conn.query(PostgresQuery(unsafeSQL: TrackingDiffSQL.ambiguousCounts)).rows[0]
            d.counts.ambiguousShipment = try ambiguous.decode("feed")
            d.heldAmbiguous = try ambiguous.decode("held")
        }
        let enforce = definition.enforceTransitions ? "true" : "false"
        try step(conn, clock, "diff: latest event per shipment", TrackingDiffSQL.winners, [enforce])
        try step(conn, clock, "diff: terminal orders take no shipment", TrackingDiffSQL.rejectTerminalAttach)
        try step(conn, clock, "diff: shipment lines", TrackingDiffSQL.rejectInvalidLine)
        d.counts.shipmentsAdded = try step(conn, clock, "diff: shipments added", TrackingDiffSQL.attach)
        let confirmations: Bool = try conn.query(PostgresQuery(unsafeSQL: TrackingDiffSQL.anyConfirmation)).rows[0].decode("any")
        try step(conn, clock, "diff: order status from shipments", TrackingDiffSQL.orderStatus(confirmations: confirmations), [enforce])
        try step(conn, clock, "diff: order-level events", TrackingDiffSQL.supersedeOrderLevel)
        try step(conn, clock, "diff: illegal transitions", TrackingDiffSQL.rejectIllegal)
        // The apply statements join these to orders and shipments: give the planner their sizes.
        try step(conn, clock, "diff: analyze", "ANALYZE stage_winners, stage_attach, stage_order_status")

        try clock.measure("diff: counts", rows: 0) {
            try count(conn, now: now, read: read, into: &d)
        }
        try reconcile(d, read: read)
        return d
    }

    private func int(_ conn: PostgresConnection, _ sql: String, _ binds: [String?] = [], _ column: String = "n") throws -> Int {
        try conn.query(PostgresQuery(unsafeSQL: sql, binds: binds)).rows[0].decode(column)
    }

    /// Per-carrier and per-status counts and the totals they add up to. Events per carrier and
    /// status come from the reader; the rest from the diff's tables.
    private func count(_ conn: PostgresConnection, now: Timestamp, read: OrderFeedReader.Stats?, into d: inout EventDiff) throws {
        let staged = try conn.query(PostgresQuery(unsafeSQL: TrackingDiffSQL.stagedCounts)).rows[0]
        d.records = try staged.decode("records")
        d.rowRejected = try staged.decode("row_rejected")
        d.diffRejected = try int(conn, TrackingDiffSQL.diffRejectedCount)
        let unmatched = try int(conn, TrackingDiffSQL.unmatchedCount)
        if definition.tracking.holdDays > 0 { d.counts.held = unmatched } else { d.counts.unknownShipment = unmatched }
        d.counts.expired = try int(conn, TrackingDiffSQL.heldCounts, [now.postgresText], "expired")
        d.counts.eventsLogged = try int(conn, TrackingDiffSQL.newEventCount)
        d.counts.shipmentLines = try int(conn, TrackingDiffSQL.shipmentLineCount)

        var t = d.counts
        if let read {
            for (carrier, n) in read.eventsByCarrier { t.byCarrier[carrier, default: .init()].events = n }
            for (status, n) in read.eventsByStatus { t.byStatus[status, default: .init()].events = n }
        }
        for row in try conn.query(PostgresQuery(unsafeSQL: TrackingDiffSQL.matchesByCarrier)).rows {
            let carrier = row["carrier"] ?? "(none)"
            let matched: Int = try row.decode("matched_events"), stale: Int = try row.decode("stale")
            t.byCarrier[carrier, default: .init()].matched += matched
            t.byCarrier[carrier, default: .init()].stale += stale
            t.eventsMatched += matched
            t.matches += try row.decode("matches") as Int
            t.informational += try row.decode("informational") as Int
            t.stale += stale
            t.released += try row.decode("released") as Int
        }
        var winners = 0
        for row in try conn.query(PostgresQuery(unsafeSQL: TrackingDiffSQL.winnersByCarrierAndStatus)).rows {
            let n: Int = try row.decode("n")
            switch row["outcome"] {
            case "change":
                winners += n
                if row["lvl"] == "shipment" { t.shipmentStatusChanged += n }
                t.byCarrier[row["carrier"] ?? "(none)", default: .init()].statusChanged += n
            case "confirm":
                winners += n
                t.confirmed += n
            case "superseded":
                break // counted with the superseded matches below
            default:
                winners += n
                t.illegalTransition += n
                t.releasedRejected += try row.decode("released") as Int
            }
        }
        let orders = try conn.query(PostgresQuery(unsafeSQL: TrackingDiffSQL.orderStatusCounts)).rows[0]
        t.statusKept = try orders.decode("kept")
        t.ordersTouched = try orders.decode("touched")
        for row in try conn.query(PostgresQuery(unsafeSQL: TrackingDiffSQL.ordersChangedByStatus)).rows {
            t.byStatus[row["status"] ?? "none", default: .init()].ordersChanged += try row.decode("n") as Int
        }
        t.statusChanged = t.byStatus.values.reduce(0) { $0 + $1.ordersChanged }
        t.superseded = t.matches - t.informational - t.stale - winners
        t.released += d.heldAmbiguous
        t.releasedRejected += d.heldAmbiguous
        d.counts = t
    }

    /// Every event has exactly one fate, and the reader and the database agree on the numbers.
    private func reconcile(_ d: EventDiff, read: OrderFeedReader.Stats?) throws {
        let t = d.counts
        if let read, d.records != read.records || d.rowRejected != read.rowRejects {
            throw RunError.reconciliation("read \(read.records) events (\(read.rowRejects) rejected) but staged \(d.records) (\(d.rowRejected) rejected)")
        }
        if t.superseded < 0 {
            throw RunError.reconciliation("matches: \(t.matches) ≠ \(t.informational) informational + \(t.stale) stale + winners")
        }
        let feedMatched = t.eventsMatched
        let accounted = d.rowRejected + t.ambiguousShipment + t.held + t.unknownShipment + feedMatched
        if accounted != d.records {
            throw RunError.reconciliation("events: \(d.records) read ≠ \(d.rowRejected) rejected by the reader + \(t.ambiguousShipment) ambiguous + \(t.held + t.unknownShipment) unmatched + \(feedMatched) matched")
        }
        if read != nil {
            let perCarrier = t.byCarrier.values.reduce(0) { $0 + $1.events }
            if perCarrier != d.records - d.rowRejected {
                throw RunError.reconciliation("events per carrier add up to \(perCarrier), not \(d.records - d.rowRejected) accepted")
            }
        }
    }

    /// The apply statements of carrier events, each with whether the counts say it has work and
    /// the rows a statement that guards against concurrent writers must touch.
    func eventApplyStatements(_ t: RunReport.TrackingCounts) -> [ApplyStatement] {
        let shipmentMoves = t.shipmentStatusChanged + t.confirmed
        return [
            ApplyStatement("apply: add shipments", TrackingDiffSQL.insertShipments, t.shipmentsAdded > 0, t.shipmentsAdded),
            ApplyStatement("apply: shipment lines", TrackingDiffSQL.insertShipmentLines, t.shipmentLines > 0, nil),
            ApplyStatement("apply: shipped at", TrackingDiffSQL.updateShippedAt, t.matches > 0, nil),
            ApplyStatement("apply: update shipments", TrackingDiffSQL.updateShipments, shipmentMoves > 0, nil),
            ApplyStatement("apply: update order status", TrackingDiffSQL.updateOrderStatus, t.ordersTouched > 0, t.ordersTouched),
            ApplyStatement("apply: order tracking fields", TrackingDiffSQL.updateOrderTracking, t.shipmentsAdded > 0, nil),
            ApplyStatement("apply: orders whose shipments changed", TrackingDiffSQL.touchOrders, t.matches > 0, nil),
            ApplyStatement("apply: shipment event log", TrackingDiffSQL.insertShipmentEvents, t.eventsLogged > 0, t.eventsLogged),
            ApplyStatement("apply: shipment attempts and exceptions", TrackingDiffSQL.updateShipmentFacts, t.eventsLogged > 0, nil),
            ApplyStatement("apply: history events (status)", TrackingDiffSQL.insertStatusEvents, t.statusChanged > 0, t.statusChanged),
            ApplyStatement("apply: history events (shipments)", TrackingDiffSQL.insertShipmentAddedEvents, t.shipmentsAdded > 0, t.shipmentsAdded),
            ApplyStatement("apply: hold unmatched events", TrackingDiffSQL.holdEvents, t.held > 0, nil),
            ApplyStatement("apply: release held events", TrackingDiffSQL.releaseHeld, t.released > 0, t.released),
            ApplyStatement("apply: expire held events", TrackingDiffSQL.expireHeld, t.expired > 0, t.expired),
        ]
    }

    func applyEvents(_ conn: PostgresConnection, clock: StageClock, _ t: RunReport.TrackingCounts, binds: [String?], params: String) throws {
        try applyAll(conn, clock: clock, eventApplyStatements(t), binds: binds, params: params)
    }
}
