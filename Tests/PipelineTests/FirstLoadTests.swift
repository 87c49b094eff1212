import Foundation
import Pipeline
import Testing

/// A first load (orders that can only be creates go straight to the final tables) must give
/// exactly what staging everything gives: the same orders, items, history, counts and rejects
/// file. Each feed runs both ways, each into a fresh database.
@Suite("first load of an empty source")
struct FirstLoadTests {
    static let h = PipelineFixture.header

    /// Everything a run leaves that does not depend on generated ids or the clock.
    func state(_ f: PipelineFixture) throws -> String {
        try f.scalar("""
            SELECT concat_ws(' # ',
              (SELECT string_agg(concat_ws('|', source, external_ref, customer_id, status, currency, tracking_company, tracking_number,
                                           CASE WHEN created_at = updated_at THEN 'now' ELSE created_at::text END), ';' ORDER BY external_ref) FROM orders),
              (SELECT string_agg(concat_ws('|', o.external_ref, i.line_no, i.product_id, i.quantity, i.unit_price), ';' ORDER BY o.external_ref, i.line_no)
                 FROM order_items i JOIN orders o ON o.id = i.order_id),
              (SELECT string_agg(concat_ws('|', o.external_ref, e.source, e.kind, e.to_status, e.tracking_company, e.tracking_number,
                                           e.run_id IS NOT NULL, e.event_at = o.updated_at), ';' ORDER BY o.external_ref, e.kind)
                 FROM order_events e JOIN orders o ON o.id = e.order_id),
              (SELECT string_agg(concat_ws('|', o.external_ref, s.carrier, s.tracking_number, s.status, s.source), ';' ORDER BY o.external_ref, s.id)
                 FROM shipments s JOIN orders o ON o.id = s.order_id))
            """) ?? ""
    }

    /// Runs `inputs` (name, content) both ways; returns the first-load run's report.
    @discardableResult
    func bothWays(_ inputs: [(String, String)], mode: String = "upsert", maxRejects: String = "100",
                  dryRun: Bool = false, expectFailure: Bool = false,
                  sourceLocation: SourceLocation = #_sourceLocation) throws -> (RunReport?, PipelineFixture) {
        var reports: [RunReport?] = [], states: [String] = [], rejects: [String] = [], fixtures: [PipelineFixture] = []
        for firstLoad in [true, false] {
            let f = try PipelineFixture()
            let paths = try inputs.map { try f.file($0.0, $0.1, gzip: true) }
            var report: RunReport?
            do {
                report = try f.run(try f.definition(mode: mode, maxRejects: maxRejects), paths, dryRun: dryRun, firstLoad: firstLoad)
                #expect(!expectFailure, sourceLocation: sourceLocation)
            } catch {
                #expect(expectFailure, "\(error)", sourceLocation: sourceLocation)
                report = f.lastReport.value
            }
            reports.append(report)
            states.append(try state(f))
            rejects.append(try f.lastReport.value?.rejectsFile.map { try String(contentsOfFile: $0, encoding: .utf8) } ?? "")
            fixtures.append(f)
        }
        #expect(states[0] == states[1], sourceLocation: sourceLocation)
        #expect(rejects[0] == rejects[1], sourceLocation: sourceLocation)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let counts = try reports.map { r in try r.map { String(decoding: try encoder.encode($0.counts), as: UTF8.self) } }
        #expect(counts[0] == counts[1], sourceLocation: sourceLocation)
        #expect(reports[0]?.rejectsByReason == reports[1]?.rejectsByReason, sourceLocation: sourceLocation)
        #expect(reports[1]?.firstLoadOrders == nil, sourceLocation: sourceLocation)
        return (reports[0], fixtures[0])
    }

    @Test func cleanFeedSkipsStagingAndEqualsTheStagedRun() throws {
        let feed = Self.h + """
            A1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,2,9.99
            A1,c1,processing,USD,2026-10-01T10:00:00Z,,,p2,1,5.00
            A2,c2,shipped,EUR,2026-10-02T10:00:00+02:00,UPS,1Z999,"p,3 ""quoted"" \\back",1,100
            A3,c3,,,,FedEx,7777,p4,3,
            "A\\4",c\\4,delivered,USD,2026-10-03T10:00:00Z,,,p5,1,0
            A5,c5,shipped,USD,2026-10-03T10:00:00Z,UPS|fedex,1za| 555 ,p1,1,1

            """
        let (r, f) = try bothWays([("clean.csv", feed)])
        #expect(r?.firstLoadOrders == 5)
        #expect(r?.counts.created == 5 && r?.counts.recordsRead == 6)
        #expect(try f.scalar("SELECT string_agg(s.carrier || ':' || s.tracking_number || ':' || coalesce(s.status, '-'), ',' ORDER BY s.id) FROM shipments s JOIN orders o ON o.id = s.order_id WHERE external_ref = 'A5'") == "UPS:1ZA:shipped,FedEx:555:shipped")
        #expect(try f.scalar("SELECT tracking_company || ' ' || tracking_number FROM orders WHERE external_ref = 'A5'") == "FedEx 555")
        #expect(r?.stages.contains { $0.name == "read+load orders" } == true)
        #expect(try f.scalar("SELECT product_id FROM order_items i JOIN orders o ON o.id = i.order_id WHERE external_ref = 'A2'") == #"p,3 "quoted" \back"#)
        #expect(try f.scalar("SELECT status || coalesce(currency, '-') || (created_at = updated_at) FROM orders WHERE external_ref = 'A3'") == "processing-true")
        #expect(try f.int("SELECT count(*) FROM order_events WHERE kind = 'created'") == 5)
        // The source is no longer empty: the next run diffs, and finds nothing to do.
        let again = try f.run(try f.definition(), [try f.file("again.csv", feed)])
        #expect(again.firstLoadOrders == nil && again.counts.unchanged == 5 && again.counts.created == 0)
    }

    @Test func anOrderInNonAdjacentPiecesFallsBackToStagingEverything() throws {
        let feed = Self.h + """
            B1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            B2,c2,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            B1,c1,processing,USD,2026-10-01T10:00:00Z,,,p2,2,2

            """
        let (r, f) = try bothWays([("pieces.csv", feed)])
        #expect(r?.firstLoadOrders == nil)
        #expect(r?.counts.created == 2)
        #expect(try f.scalar("SELECT string_agg(product_id, '+' ORDER BY line_no) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE external_ref = 'B1'") == "p1+p2")
    }

    @Test func anOrderSplitAcrossTwoFilesIsOneOrder() throws {
        let first = Self.h + "E1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1\nE2,c2,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1\n"
        let second = Self.h + "E1,c1,processing,USD,2026-10-01T10:00:00Z,,,p2,1,1\n"
        let (r, f) = try bothWays([("one.csv", first), ("two.csv", second)])
        #expect(r?.counts.created == 2)
        #expect(try f.scalar("SELECT string_agg(product_id, '+' ORDER BY line_no) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE external_ref = 'E1'") == "p1+p2")
    }

    @Test func rejectedRowsRejectTheirWholeOrderWhereverTheyAre() throws {
        // C1: a bad row inside its group. C2: a bad row before its group. C3: after it, apart.
        let feed = Self.h + """
            C1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            C1,c1,processing,USD,2026-10-01T10:00:00Z,,,p2,0,1
            C1,c1,processing,USD,2026-10-01T10:00:00Z,,,p3,1,1
            C2,c2,processing,USD,2026-10-01T10:00:00Z,,,p1,x,1
            C9,c9,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            C2,c2,processing,USD,2026-10-01T10:00:00Z,,,p2,1,1
            C4,c4,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1

            """
        let (r, _) = try bothWays([("rejects.csv", feed)])
        #expect(r?.firstLoadOrders == 2) // C9 and C4
        #expect(r?.rejectsByReason == ["invalid_quantity": 2, "order_incomplete": 3])
        let after = Self.h + """
            C3,c3,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            C5,c5,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            C3,c3,processing,USD,2026-10-01T10:00:00Z,,,p2,-1,1

            """
        let (late, _) = try bothWays([("late.csv", after)])
        #expect(late?.firstLoadOrders == nil)
        #expect(late?.rejectsByReason == ["invalid_quantity": 1, "order_incomplete": 1])
    }

    @Test func orderIdsDeletesAndMirrorModeInAFirstLoad() throws {
        let feed = """
            order_id,external_ref,action,customer_id,status,currency,created_at,tracking_company,tracking_number,product_id,quantity,unit_price
            0190a000-0000-7000-8000-000000000001,,,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            ,F1,delete,c1,,,,,,,,
            ,F2,,c2,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1

            """
        let (r, _) = try bothWays([("mixed.csv", feed)])
        #expect(r?.firstLoadOrders == 1)
        #expect(r?.rejectsByReason == ["unknown_order": 1])
        #expect(r?.counts.unchanged == 1)
        let mirrored = Self.h + "G1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1\nG2,c2,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1\n"
        let (m, _) = try bothWays([("mirror.csv", mirrored)], mode: "mirror")
        #expect(m?.firstLoadOrders == 2 && m?.counts.mirrorDeleted == 0 && m?.counts.created == 2)
    }

    @Test func ndjsonFirstLoadEqualsTheStagedRun() throws {
        let nd = """
            {"externalRef":"N1","customerId":"c1","status":"shipped","currency":"USD","createdAt":"2026-10-01T10:00:00Z","trackingCompany":"UPS","trackingNumber":"1Z1","products":[{"productId":"p1","quantity":2,"unitPrice":9.99},{"productId":"p2","quantity":1,"unitPrice":5.00}]}
            {"externalRef":"N2","customerId":"c2","products":[{"productId":"p\\\\3","quantity":1}]}
            {"externalRef":"N3","customerId":"c3","products":[{"productId":"p4","quantity":0}]}

            """
        let (r, _) = try bothWays([("orders.ndjson", nd)])
        #expect(r?.firstLoadOrders == 2)
        #expect(r?.rejectsByReason == ["invalid_quantity": 1])
    }

    @Test func aDryRunOrAGuardLeavesTheSourceEmpty() throws {
        let feed = Self.h + "H1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1\nH2,c2,processing,USD,2026-10-01T10:00:00Z,,,p1,0,1\n"
        let (dry, f) = try bothWays([("dry.csv", feed)], dryRun: true)
        #expect(dry?.outcome == .dryRun && dry?.counts.created == 1)
        #expect(try f.int("SELECT count(*) FROM orders") == 0 && f.int("SELECT count(*) FROM order_events") == 0)
        let (guarded, g) = try bothWays([("guard.csv", feed)], maxRejects: "0", expectFailure: true)
        #expect(guarded?.outcome == .aborted)
        #expect(try g.int("SELECT count(*) FROM orders") == 0 && g.int("SELECT count(*) FROM order_items") == 0)
    }
}
