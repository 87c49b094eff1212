import Foundation
import OrderModel
import Pipeline
import Testing

/// Real orders and shipments (docs/tracking.md "Shipments"): each case from the minimal feed
/// that showed it, against a real PostgreSQL.
@Suite("shipments: several per order, shared, held events")
struct ShipmentsTests {
    static let events = TrackingRunTests.header

    func tracking(_ extra: String = "") throws -> PipelineDefinition { try TrackingRunTests.tracking(extra) }

    func orderState(_ f: PipelineFixture, _ ref: String) throws -> String {
        try f.scalar("""
            SELECT o.status || ' ' || coalesce(o.tracking_company, '-') || ' ' || coalesce(o.tracking_number, '-') || ' [' ||
                   coalesce((SELECT string_agg(s.carrier || ':' || s.tracking_number || ':' || coalesce(s.status, '-'), ',' ORDER BY s.id)
                             FROM shipments s WHERE s.order_id = o.id), '') || ']'
            FROM orders o WHERE o.external_ref = '\(ref)'
            """) ?? "none"
    }

    @Test func oneProductOnTwoLinesIsTwoLinesAndAChangedQuantityIsALineChange() throws {
        let f = try PipelineFixture()
        let v1 = PipelineFixture.header + "L1,c1,processing,USD,2026-10-01T10:00:00Z,,,SKU-1,1,8.00\nL1,c1,processing,USD,2026-10-01T10:00:00Z,,,SKU-1,1,10.00\n"
        let r = try f.run(try f.definition(), [try f.file("v1.csv", v1)])
        #expect(r.counts.created == 1 && r.counts.recordsRejected == 0)
        let v2 = PipelineFixture.header + "L1,c1,processing,USD,2026-10-01T10:00:00Z,,,SKU-1,1,8.00\nL1,c1,processing,USD,2026-10-01T10:00:00Z,,,SKU-1,3,10.00\n"
        let r2 = try f.run(try f.definition(), [try f.file("v2.csv", v2)])
        #expect(r2.counts.itemsChanged == 1 && r2.counts.created == 0)
        #expect(try f.scalar("SELECT string_agg(line_no || ':' || product_id || 'x' || quantity || '@' || unit_price, ' ' ORDER BY line_no) FROM order_items") == "1:SKU-1x1@8.00 2:SKU-1x3@10.00")
    }

    @Test func anOrderShippedInTwoPackagesIsDeliveredWhenBothAre() throws {
        let f = try PipelineFixture()
        let orders = PipelineFixture.header + "S1,c1,shipped,USD,2026-10-01T10:00:00Z,UPS,1ZA|1ZB,p1,2,1\n"
        try f.run(try f.definition(), [try f.file("o.csv", orders)])
        #expect(try orderState(f, "S1") == "shipped UPS 1ZB [UPS:1ZA:shipped,UPS:1ZB:shipped]")
        let first = Self.events + "UPS,1ZA,InTransit,2026-11-02T09:00:00Z,,,,\nUPS,1ZB,InTransit,2026-11-02T10:00:00Z,,,,\nUPS,1ZA,Delivered,2026-11-03T09:00:00Z,,,,\n"
        let r = try f.run(try tracking(), [try f.file("t1.csv", first)])
        #expect(r.tracking?.shipmentStatusChanged == 2 && r.tracking?.statusChanged == 1)
        #expect(try orderState(f, "S1") == "in_transit UPS 1ZB [UPS:1ZA:delivered,UPS:1ZB:in_transit]")
        try f.run(try tracking(), [try f.file("t2.csv", Self.events + "UPS,1ZB,Delivered,2026-11-04T09:00:00Z,,,,\n")])
        #expect(try orderState(f, "S1") == "delivered UPS 1ZB [UPS:1ZA:delivered,UPS:1ZB:delivered]")
        #expect(try f.scalar("SELECT string_agg(delivered_at::text, ',' ORDER BY id) FROM shipments") == "2026-11-03 09:00:00+00,2026-11-04 09:00:00+00")
    }

    @Test func anEventWithANewNumberAddsAShipmentAndTheFirstPackageStillMatches() throws {
        let f = try PipelineFixture()
        try TrackingRunTests.seed(f) // A1: shipped, UPS 1Z1
        let feed = Self.events + "UPS,1Z2,InTransit,2026-11-02T09:00:00Z,,A1,,\nUPS,1Z1,Delivered,2026-11-03T09:00:00Z,,,,\n"
        let r = try f.run(try tracking(), [try f.file("t.csv", feed)])
        #expect(r.tracking?.shipmentsAdded == 1 && r.tracking?.shipmentStatusChanged == 2)
        #expect(try orderState(f, "A1") == "in_transit UPS 1Z2 [UPS:1Z1:delivered,UPS:1Z2:in_transit]")
        #expect(try f.int("SELECT count(*) FROM order_events WHERE kind = 'shipping_updated' AND run_id = \(r.importRunId!)") == 0)
    }

    @Test func aConsolidatedShipmentMovesEachOfItsOrders() throws {
        let f = try PipelineFixture()
        let orders = PipelineFixture.header + "C1,cust,shipped,USD,2026-10-01T10:00:00Z,DHL,JD1,p1,1,1\nC2,cust,shipped,USD,2026-10-01T10:00:00Z,DHL,JD1,p2,1,1\n"
        try f.run(try f.definition(), [try f.file("o.csv", orders)])
        let r = try f.run(try tracking(), [try f.file("t.csv", Self.events + "DHL,JD1,Delivered,2026-11-05T09:00:00Z,,,,\n")])
        #expect(r.tracking?.eventsMatched == 1 && r.tracking?.matches == 2 && r.tracking?.statusChanged == 2)
        #expect(try orderState(f, "C1") == "delivered DHL JD1 [DHL:JD1:delivered]")
        #expect(try orderState(f, "C2") == "delivered DHL JD1 [DHL:JD1:delivered]")
        #expect(try f.int("SELECT count(*) FROM shipment_events") == 2)
    }

    @Test func eventsBeforeTheirOrderAreHeldAndReleasedWithTheirOriginalTimes() throws {
        let f = try PipelineFixture()
        let feed = Self.events + "FedEx,777,InTransit,2026-11-02T09:00:00Z,,H1,Memphis,\nFedEx,777,Delivered,2026-11-03T09:00:00Z,,,,Front door\n"
        let held = try f.run(try tracking(), [try f.file("t.csv", feed)])
        #expect(held.tracking?.held == 2 && held.counts.recordsRejected == 0)
        #expect(try f.int("SELECT count(*) FROM held_events") == 2)
        // The ship confirmation arrives the day after: the held events are applied by that run.
        let orders = PipelineFixture.header + "H1,c1,shipped,USD,2026-10-01T10:00:00Z,FedEx,777,p1,1,1\n"
        let r = try f.run(try f.definition(), [try f.file("o.csv", orders)])
        #expect(r.releasedEvents?.released == 2 && r.releasedEvents?.statusChanged == 1)
        #expect(try orderState(f, "H1") == "delivered FedEx 777 [FedEx:777:delivered]")
        #expect(try f.scalar("SELECT status_event_at::text FROM orders") == "2026-11-03 09:00:00+00")
        #expect(try f.int("SELECT count(*) FROM held_events") == 0)
        #expect(try f.int("SELECT count(*) FROM shipment_events") == 2)

        // The other order of feeds ends in the same state.
        let g = try PipelineFixture()
        try g.run(try g.definition(), [try g.file("o.csv", orders)])
        try g.run(try tracking(), [try g.file("t.csv", feed)])
        #expect(try orderState(g, "H1") == orderState(f, "H1"))
        #expect(try g.scalar("SELECT status_event_at::text FROM orders") == "2026-11-03 09:00:00+00")
    }

    @Test func heldEventsExpireAfterTheirPipelinesDays() throws {
        let f = try PipelineFixture()
        try f.run(try tracking("hold_days: 3\n"), [try f.file("t.csv", Self.events + "UPS,1ZX,InTransit,2026-11-02T09:00:00Z,,,,\n")])
        #expect(try f.scalar("SELECT extract(epoch FROM expires_at - held_at)::bigint / 86400 FROM held_events") == "3")
        try f.conn.execute("UPDATE held_events SET expires_at = now() - interval '1 second'")
        let r = try f.run(try tracking(), [try f.file("t2.csv", Self.events + "UPS,1ZY,InTransit,2026-11-02T09:00:00Z,,,,\n")])
        #expect(r.tracking?.expired == 1 && r.tracking?.held == 1)
        #expect(try f.scalar("SELECT string_agg(tracking_number, ',') FROM held_events") == "1ZY")
    }

    @Test func anIllegalEventOnACancelledOrderAttachesNothing() throws {
        let f = try PipelineFixture()
        let orders = "order_id,external_ref,action,customer_id,status,currency,created_at,tracking_company,tracking_number,product_id,quantity,unit_price\n"
            + ",ORD-1,,C-1,cancelled,USD,2026-10-01T00:00:00Z,,,SKU-1,1,1.00\n"
        try f.run(try f.definition(), [try f.file("o.csv", orders)])
        let before = try f.int("SELECT count(*) FROM order_events")
        let r = try f.run(try tracking(), [try f.file("t.csv", Self.events + "UPS,1Z999AA10000000001,InTransit,2026-11-05T10:00:00Z,,ORD-1,,\n")])
        #expect(r.rejectsByReason == ["illegal_transition": 1])
        #expect(r.rejectExamples["illegal_transition"]?.first?.message.contains("is cancelled") == true)
        #expect(try orderState(f, "ORD-1") == "cancelled - - []")
        #expect(try f.int("SELECT count(*) FROM order_events") == before)
        #expect(try f.int("SELECT count(*) FROM shipment_events") == 0)
    }

    @Test func aLateEventWithANewNumberIsItsOwnShipmentAndItsLaterEventsMatchIt() throws {
        let f = try PipelineFixture()
        try TrackingRunTests.seed(f) // A4: delivered, USPS 9400
        let feed = Self.events + "USPS,9500,InTransit,2026-09-01T09:00:00Z,,A4,,\n"
        let r = try f.run(try tracking(), [try f.file("t1.csv", feed)])
        // The order may not go back from delivered: it keeps its status, the new package moves.
        #expect(r.tracking?.shipmentsAdded == 1 && r.tracking?.statusKept == 1)
        #expect(try orderState(f, "A4") == "delivered USPS 9500 [USPS:9400:delivered,USPS:9500:in_transit]")
        try f.run(try tracking(), [try f.file("t2.csv", Self.events + "USPS,9500,Delivered,2026-09-02T09:00:00Z,,,,\n")])
        #expect(try orderState(f, "A4") == "delivered USPS 9500 [USPS:9400:delivered,USPS:9500:delivered]")
    }

    @Test func easyPostsCancelledTrackerIsInformational() throws {
        let f = try PipelineFixture()
        try TrackingRunTests.seed(f)
        let r = try f.run(try tracking(), [try f.file("t.csv", Self.events + "UPS,1Z1,cancelled,2026-11-05T10:00:00Z,,,,\n")])
        #expect(r.counts.recordsRejected == 0 && r.tracking?.informational == 1)
        #expect(try f.int("SELECT count(*) FROM shipment_events WHERE event_code = 'cancelled'") == 1)
    }

    @Test func aReusedNumberDoesNotMatchAShipmentFarNewerThanTheEvent() throws {
        let f = try PipelineFixture()
        try TrackingRunTests.seed(f) // A1: UPS 1Z1
        try f.conn.execute("UPDATE shipments SET shipped_at = '2026-10-01T00:00:00Z'")
        let r = try f.run(try tracking("match_window_days: 30\n"), [try f.file("t.csv", Self.events + "UPS,1Z1,Delivered,2025-06-01T10:00:00Z,,,,\n")])
        #expect(r.tracking?.held == 1 && r.tracking?.eventsMatched == 0)
        #expect(try orderState(f, "A1") == "shipped UPS 1Z1 [UPS:1Z1:shipped]")
    }

    @Test func theSameEventsAgainWriteNothing() throws {
        let f = try PipelineFixture()
        try TrackingRunTests.seed(f)
        let feed = try f.file("t.csv", Self.events + "UPS,1Z1,InTransit,2026-11-02T09:00:00Z,,,Hub,\nUPS,1Z1,AttemptFail,2026-11-03T09:00:00Z,,,Door,No one home\n")
        let first = try f.run(try tracking(), [feed])
        #expect(first.tracking?.eventsLogged == 2)
        #expect(try f.scalar("SELECT s.attempts || ' ' || s.status FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.external_ref = 'A1'") == "1 failed_attempt")
        let again = try f.run(try tracking(), [feed])
        #expect(again.tracking?.eventsLogged == 0 && again.tracking?.statusChanged == 0)
        #expect(try f.int("SELECT count(*) FROM shipment_events") == 2)
    }

    @Test func aShipmentsFeedAddsShipmentsWithTheirLinesAndShipsTheOrder() throws {
        let f = try PipelineFixture()
        let orders = PipelineFixture.header + "P1,c1,processing,USD,2026-10-01T10:00:00Z,,,SKU-1,2,1\nP1,c1,processing,USD,2026-10-01T10:00:00Z,,,SKU-2,1,1\n"
            + "P2,c2,cancelled,USD,2026-10-01T10:00:00Z,,,SKU-1,1,1\n"
        try f.run(try f.definition(), [try f.file("o.csv", orders)])
        let definition = try PipelineDefinition.parse(yaml: "name: ship\nkind: shipments\nsource: legacy\nguards:\n  max_rejects: 10\n")
        let feed = """
            external_ref,carrier,tracking_number,shipped_at,line_no,quantity
            P1,ups,1zs1,2026-11-01T10:00:00Z,1,2
            P1,FedEx,555,2026-11-02T10:00:00Z,2,1
            P1,UPS,1ZS1,2026-11-01T10:00:00Z,3,1
            P9,UPS,1ZS9,2026-11-01T10:00:00Z,,
            P2,UPS,1ZS2,2026-11-01T10:00:00Z,,
            P1,UPS,1ZS3,2026-11-01T10:00:00Z,1,

            """
        let r = try f.run(definition, [try f.file("s.csv", feed)])
        #expect(r.rejectsByReason == ["invalid_line": 1, "illegal_transition": 1, "missing_field": 1])
        #expect(r.rejectExamples["invalid_line"]?.first?.line == 4)
        #expect(r.tracking?.shipmentsAdded == 2 && r.tracking?.shipmentLines == 2 && r.tracking?.held == 1 && r.tracking?.statusChanged == 1)
        #expect(try orderState(f, "P1") == "shipped FedEx 555 [UPS:1ZS1:-,FedEx:555:-]")
        #expect(try orderState(f, "P2") == "cancelled - - []")
        #expect(try f.scalar("SELECT string_agg(s.tracking_number || '#' || l.line_no || 'x' || l.quantity, ',' ORDER BY l.line_no) FROM shipment_lines l JOIN shipments s ON s.id = l.shipment_id") == "1ZS1#1x2,555#2x1")
        #expect(try f.scalar("SELECT string_agg(shipped_at::text, ',' ORDER BY id) FROM shipments") == "2026-11-01 10:00:00+00,2026-11-02 10:00:00+00")
        // Re-fed: nothing new.
        let again = try f.run(definition, [try f.file("s2.csv", feed)])
        #expect(again.tracking?.shipmentsAdded == 0 && again.tracking?.statusChanged == 0 && again.tracking?.eventsLogged == 0)
    }

    @Test func aHeldShipConfirmationKeepsItsLineWhenItsOrderArrives() throws {
        let f = try PipelineFixture()
        let definition = try PipelineDefinition.parse(yaml: "name: ship\nkind: shipments\nsource: legacy\n")
        let held = try f.run(definition, [try f.file("s.csv", "external_ref,carrier,tracking_number,shipped_at,line_no,quantity\nE9,UPS,1ZE9,2026-11-01T10:00:00Z,1,2\n")])
        #expect(held.tracking?.held == 1)
        let r = try f.run(try f.definition(), [try f.file("o.csv", PipelineFixture.header + "E9,c9,processing,USD,2026-10-01T10:00:00Z,,,SKU-1,2,1\n")])
        #expect(r.releasedEvents?.released == 1 && r.releasedEvents?.shipmentsAdded == 1)
        #expect(try orderState(f, "E9") == "shipped UPS 1ZE9 [UPS:1ZE9:-]")
        #expect(try f.scalar("SELECT line_no || 'x' || quantity || ' ' || s.shipped_at::text FROM shipment_lines l JOIN shipments s ON s.id = l.shipment_id") == "1x2 2026-11-01 10:00:00+00")
    }

    @Test func anEventMappedToCancelledActsOnTheOrderNotTheShipment() throws {
        let f = try PipelineFixture()
        try TrackingRunTests.seed(f) // A1: shipped, UPS 1Z1
        let r = try f.run(try tracking("event_codes:\n  VOID: cancelled\n"), [try f.file("t.csv", Self.events + "UPS,1Z1,VOID,2026-11-05T10:00:00Z,,,,\n")])
        #expect(r.outcome == .applied && r.tracking?.statusChanged == 1)
        #expect(try orderState(f, "A1") == "cancelled UPS 1Z1 [UPS:1Z1:shipped]")
    }

    @Test func aConsolidatedEventIllegalForOneOrderStillMovesTheOther() throws {
        let f = try PipelineFixture()
        let orders = PipelineFixture.header + "X1,cust,delivered,USD,2026-10-01T10:00:00Z,UPS,1ZC,p1,1,1\nY1,cust,in_transit,USD,2026-10-01T10:00:00Z,UPS,1ZC,p2,1,1\n"
        try f.run(try f.definition(), [try f.file("o.csv", orders)])
        let r = try f.run(try tracking(), [try f.file("t.csv", Self.events + "UPS,1ZC,OutForDelivery,2026-11-05T09:00:00Z,,,Depot,\n")])
        #expect(r.rejectsByReason == ["illegal_transition": 1] && r.tracking?.statusChanged == 1)
        #expect(try orderState(f, "X1") == "delivered UPS 1ZC [UPS:1ZC:delivered]")
        #expect(try orderState(f, "Y1") == "out_for_delivery UPS 1ZC [UPS:1ZC:out_for_delivery]")
        #expect(try f.scalar("SELECT string_agg(o.external_ref, ',') FROM shipment_events e JOIN orders o ON o.id = e.order_id") == "Y1")
    }

    @Test func aTrackingNumberWithoutItsCarrierIsRejectedInAnOrdersFeed() throws {
        let f = try PipelineFixture()
        let r = try f.run(try f.definition(), [try f.file("o.csv", PipelineFixture.header + "N1,c1,shipped,USD,2026-10-01T10:00:00Z,,1ZN,p1,1,1\nN2,c2,shipped,USD,2026-10-01T10:00:00Z,UPS,1ZA|1za,p1,1,1\n")])
        #expect(r.rejectsByReason == ["missing_field": 1, "invalid_tracking_number": 1])
    }
}
