import Foundation
import OrderModel
import Pipeline
import SyntheticFeeds
import PostgresClient
import Reports
import Testing

@Suite("tracking pipeline against a real PostgreSQL")
struct TrackingRunTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let header = "carrier,tracking_number,event_code,event_time,order_id,external_ref,location,description\n"

    /// Orders A1 shipped (UPS 1Z1), A2 in transit (FedEx 222), A3 processing without tracking,
    /// A4 delivered (USPS 9400).
    static func seed(_ f: PipelineFixture) throws {
        let feed = PipelineFixture.header + """
            A1,c1,shipped,USD,2026-10-01T10:00:00Z,UPS,1Z1,p1,1,1
            A2,c2,in_transit,USD,2026-10-01T10:00:00Z,FedEx,222,p1,1,1
            A3,c3,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            A4,c4,delivered,USD,2026-10-01T10:00:00Z,USPS,9400,p1,1,1

            """
        try f.run(try f.definition(), [try f.file("seed-\(UInt32.random(in: 0...UInt32.max)).csv", feed)])
    }

    static func tracking(_ extra: String = "", maxRejects: String = "100") throws -> PipelineDefinition {
        try PipelineDefinition.parse(yaml: "name: test-tracking\nkind: tracking\nsource: legacy\nguards:\n  max_rejects: \(maxRejects)\n\(extra)")
    }

    /// Status, status_event_at and tracking of every order, to compare end states.
    static func state(_ f: PipelineFixture) throws -> String {
        try f.scalar("""
            SELECT string_agg(external_ref || ':' || status || ':' || coalesce(status_event_at::text, '-') || ':' ||
                              coalesce(tracking_company, '-') || ':' || coalesce(tracking_number, '-'), ' ' ORDER BY external_ref)
            FROM orders
            """) ?? ""
    }

    @Test func latestEventWinsWhateverTheOrderInsideAndAcrossFeeds() throws {
        // Inside one feed the delivered scan comes first; across feeds the older one comes last.
        let first = Self.header + """
            ups,1z1,OutForDelivery,2026-11-03T09:00:00Z,,,Newark,Out for delivery
            UPS,1Z1,InTransit,2026-11-02T09:00:00Z,,,Newark,In transit
            fedex,222,Delivered,2026-11-03T12:00:00-05:00,,,Memphis,Delivered

            """
        let second = Self.header + """
            UPS,1Z1,Delivered,2026-11-04T09:00:00Z,,,Newark,Delivered
            UPS,1Z1,InfoReceived,2026-11-01T09:00:00Z,,,Newark,Label created
            FedEx,222,OutForDelivery,2026-11-03T08:00:00Z,,,Memphis,On vehicle

            """
        var states: [String] = []
        for order in [[0, 1], [1, 0]] {
            let f = try PipelineFixture()
            try Self.seed(f)
            let feeds = [try f.file("first.csv", first, gzip: true), try f.file("second.csv", second, gzip: true)]
            for i in order { try f.run(try Self.tracking(), [feeds[i]]) }
            states.append(try Self.state(f))
            #expect(try f.scalar("SELECT status || ' ' || status_event_at::text FROM orders WHERE external_ref = 'A1'") == "delivered 2026-11-04 09:00:00+00")
            #expect(try f.scalar("SELECT status || ' ' || status_event_at::text FROM orders WHERE external_ref = 'A2'") == "delivered 2026-11-03 17:00:00+00")
        }
        #expect(states[0] == states[1])
    }

    @Test func historyRowsCarryTheEventAndTheReportCountsPerCarrierAndStatus() throws {
        let f = try PipelineFixture()
        try Self.seed(f)
        let feed = Self.header + """
            UPS,1Z1,InTransit,2026-11-02T09:00:00Z,,,"Louisville, KY",Departed facility
            UPS,1Z1,OutForDelivery,2026-11-03T09:00:00Z,,,"Newark, NJ",Out for delivery
            FedEx,222,Pending,2026-11-03T10:00:00Z,,,,Awaiting update

            """
        let r = try f.run(try Self.tracking(), [try f.file("h.csv", feed)])
        let t = try #require(r.tracking)
        #expect(t.statusChanged == 1 && t.superseded == 1 && t.informational == 1 && t.eventsMatched == 3)
        #expect(r.counts.recordsRead == 3 && r.counts.recordsRejected == 0)
        #expect(t.byCarrier["UPS"]?.events == 2 && t.byCarrier["UPS"]?.statusChanged == 1 && t.byCarrier["FedEx"]?.events == 1)
        #expect(t.byStatus["out_for_delivery"]?.ordersChanged == 1 && t.byStatus["in_transit"]?.events == 1)
        #expect(try f.scalar("""
            SELECT kind || '|' || from_status || '|' || to_status || '|' || event_code || '|' || location || '|' || description || '|' || event_at::text
            FROM order_events e JOIN orders o ON o.id = e.order_id WHERE o.external_ref = 'A1' AND e.kind = 'status_changed'
            """) == "status_changed|shipped|out_for_delivery|OutForDelivery|Newark, NJ|Out for delivery|2026-11-03 09:00:00+00")
        #expect(try f.int("SELECT count(*) FROM order_events WHERE run_id = \(r.importRunId!)") == 1)
    }

    @Test func staleEventsAreCountedAndTheSameFeedTwiceChangesNothing() throws {
        let f = try PipelineFixture()
        try Self.seed(f)
        let newer = try f.file("newer.csv", Self.header + "UPS,1Z1,OutForDelivery,2026-11-03T09:00:00Z,,,,\n")
        try f.run(try Self.tracking(), [newer])
        let before = try Self.state(f)
        let events = try f.int("SELECT count(*) FROM order_events")

        let older = try f.file("older.csv", Self.header + "UPS,1Z1,InTransit,2026-11-02T09:00:00Z,,,,\nUPS,1Z1,Delivered,2026-11-03T09:00:00Z,,,,\n")
        let stale = try f.run(try Self.tracking(), [older])
        // Delivered at the same instant outranks out_for_delivery: only the in-transit scan is stale.
        #expect(stale.tracking?.stale == 1 && stale.tracking?.statusChanged == 1)

        let again = try f.run(try Self.tracking(), [older])
        #expect(again.tracking?.stale == 2 && again.tracking?.statusChanged == 0 && again.tracking?.confirmed == 0)
        #expect(try f.int("SELECT count(*) FROM order_events") == events + 1)
        #expect(try Self.state(f) != before)
        let after = try Self.state(f)
        _ = try f.run(try Self.tracking(), [newer])
        #expect(try Self.state(f) == after)
    }

    @Test func illegalMovesAreRejectedWithFromAndToUnlessTransitionsAreNotEnforced() throws {
        let f = try PipelineFixture()
        try Self.seed(f)
        let feed = try f.file("illegal.csv", Self.header + "USPS,9400,InTransit,2026-11-05T09:00:00Z,,,,\n")
        let r = try f.run(try Self.tracking(), [feed])
        #expect(r.tracking?.illegalTransition == 1 && r.counts.recordsRejected == 1)
        #expect(r.rejectsByReason["illegal_transition"] == 1)
        #expect(r.rejectExamples["illegal_transition"]?.first?.message.contains("from delivered to in_transit") == true)
        #expect(r.rejectExamples["illegal_transition"]?.first?.line == 2)
        #expect(try f.scalar("SELECT status FROM orders WHERE external_ref = 'A4'") == "delivered")

        let lax = try f.run(try Self.tracking("enforce_transitions: false"), [feed])
        #expect(lax.tracking?.statusChanged == 1)
        #expect(try f.scalar("SELECT status FROM orders WHERE external_ref = 'A4'") == "in_transit")
    }

    @Test func everyRejectIsInTheRejectsFileWithItsLineNumberAndNothingIsLost() throws {
        let f = try PipelineFixture()
        try Self.seed(f)
        let feed = Self.header + """
            UPS,1Z1,InTransit,2026-11-02T09:00:00Z,,,,
            UPS,1Z1,Teleported,2026-11-02T10:00:00Z,,,,
            UPS,NOPE,InTransit,2026-11-02T10:00:00Z,,,,
            UPS,1Z1,InTransit,,,,,
            UPS,1Z1,InTransit,2026-11-02 10:00:00,,,,
            ,1Z1,InTransit,2026-11-02T10:00:00Z,,,,
            UPS,1Z1,InTransit,2026-11-02T10:00:00Z,not-a-uuid,,,
            ,,InTransit,2026-11-02T10:00:00Z,,A404,,
            UPS,1Z1,InTransit

            """
        let input = try f.file("rejects.csv", feed, gzip: true)
        let r = try f.run(try Self.tracking("hold_days: 0\n"), [input])
        #expect(r.counts.recordsRead == 9 && r.counts.recordsRejected == 8 && r.counts.recordsAccepted == 1)
        #expect(r.rejectsByReason == ["unknown_event_code": 1, "unknown_shipment": 2, "missing_field": 2, "invalid_event_time": 1,
                                      "invalid_order_id": 1, "ragged_row": 1])
        let rejectsPath = try #require(r.rejectsFile)
        let text = try String(contentsOfFile: rejectsPath, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.first?.hasSuffix(",line,reason,message") == true)
        #expect(lines.count == 9)
        #expect(lines[1].contains("Teleported") && lines[1].contains(",3,unknown_event_code,"))
        #expect(lines[2].contains(",4,unknown_shipment,"))
        #expect(lines[4].contains("has no zone offset"))
        #expect(lines[7].contains(",9,unknown_shipment,") && lines[7].contains("A404"))
        #expect(try f.scalar("SELECT status FROM orders WHERE external_ref = 'A1'") == "in_transit")
    }

    @Test func anEventNamingAnOrderAttachesItsTrackingNumberForTheEventsAfterIt() throws {
        let f = try PipelineFixture()
        try Self.seed(f)
        let feed = Self.header + """
            dhl,jd9,InTransit,2026-11-02T12:00:00Z,,,Leipzig,
            DHL,JD9,InfoReceived,2026-11-02T08:00:00Z,,A3,Leipzig,Label created

            """
        let r = try f.run(try Self.tracking(), [try f.file("attach.csv", feed)])
        #expect(r.tracking?.shipmentsAdded == 1 && r.tracking?.statusChanged == 1)
        #expect(try f.scalar("SELECT status || '/' || tracking_company || '/' || tracking_number FROM orders WHERE external_ref = 'A3'") == "in_transit/DHL/JD9")
        #expect(try f.scalar("SELECT string_agg(kind, ',' ORDER BY kind) FROM order_events e JOIN orders o ON o.id = e.order_id WHERE o.external_ref = 'A3' AND e.run_id IS NOT NULL AND e.kind <> 'created'") == "shipment_added,status_changed")
        #expect(try f.scalar("SELECT string_agg(s.status || ' ' || s.shipped_at::text, ',') FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.external_ref = 'A3'") == "in_transit 2026-11-02 08:00:00+00")
        #expect(try f.int("SELECT count(*) FROM shipment_events e JOIN orders o ON o.id = e.order_id WHERE o.external_ref = 'A3'") == 2)
    }

    @Test func aTrackingNumberOnTwoOrdersIsAmbiguousWhenThePipelineSaysSo() throws {
        let f = try PipelineFixture()
        try Self.seed(f)
        try f.conn.execute("INSERT INTO shipments (order_id, carrier, tracking_number, source, created_at, updated_at) SELECT id, 'UPS', '1Z1', source, now(), now() FROM orders WHERE external_ref = 'A2'")
        let r = try f.run(try Self.tracking("shared_tracking: reject\n"), [try f.file("amb.csv", Self.header + "UPS,1Z1,Delivered,2026-11-05T09:00:00Z,,,,\n")])
        #expect(r.tracking?.ambiguousShipment == 1 && r.rejectsByReason == ["ambiguous_shipment": 1])
        #expect(try f.int("SELECT count(*) FROM orders WHERE status = 'delivered'") == 1)
    }

    @Test func guardsAndDryRunApplyNothing() throws {
        let f = try PipelineFixture()
        try Self.seed(f)
        let before = try f.fingerprint()
        let feed = try f.file("g.csv", Self.header + "UPS,1Z1,Delivered,2026-11-05T09:00:00Z,,,,\nUPS,X,Delivered,2026-11-05T09:00:00Z,,,,\n")
        let dry = try f.run(try Self.tracking("hold_days: 0\n"), [feed], dryRun: true)
        #expect(dry.outcome == .dryRun && dry.tracking?.statusChanged == 1)
        #expect(try f.fingerprint() == before)
        #expect(throws: RunError.self) { try f.run(try Self.tracking("hold_days: 0\n", maxRejects: "0"), [feed]) }
        #expect(f.lastReport.value?.outcome == .aborted)
        #expect(try f.fingerprint() == before)
    }

    /// Every generated style, through the pipeline file shipped for it: final states equal the
    /// generator's latest event per shipment; unknown shipments and codes are the only rejects.
    @Test(arguments: TrackingFeedGenerator.Style.allCases)
    func generatedFeedsOfEveryCarrierShapeEndToEnd(style: TrackingFeedGenerator.Style) throws {
        let f = try PipelineFixture()
        let ordersFeed = f.dir.appendingPathComponent("orders.csv.gz").path
        try OrderFeedGenerator(orders: 400, seed: 11).writeCSV(to: ordersFeed, gzip: true)
        try f.run(try f.definition(), [ordersFeed])
        var generator = TrackingFeedGenerator(orders: 400, seed: 11, style: style)
        generator.eventsPerShipment = 2.5
        generator.unknownRate = 0.03
        generator.unknownCodeRate = 0.03
        generator.attachRate = 0.3
        let ext = style == .ndjson || style == .dhl ? "ndjson" : "csv"
        let feed = f.dir.appendingPathComponent("events.\(ext).gz").path
        let summary = try generator.write(to: feed, gzip: true)
        let name = style == .csv || style == .ndjson ? "aftership" : style.rawValue
        let definition = try PipelineDefinition.load(path: Self.root.appendingPathComponent("pipelines/tracking-\(name).yaml").path)
        let r = try f.run(definition, [feed])
        #expect(r.outcome == .applied)
        #expect(r.counts.recordsRead == summary.events)
        #expect(r.tracking?.held == summary.unknownShipments)
        #expect((r.rejectsByReason["unknown_event_code"] ?? 0) == summary.unknownCodes)
        #expect(r.counts.recordsRejected == summary.unknownCodes)
        #expect((r.tracking?.statusChanged ?? 0) > 0)

        var expected: [String: String] = [:]
        try generator.forEachShipment { ref, events in
            let last = events.max { ($0.time, $0.status.progressRank) < ($1.time, $1.status.progressRank) }!
            expected[ref] = "\(last.status.rawValue) \(last.time.description) \(last.carrier) \(last.trackingNumber)"
        }
        var actual: [String: String] = [:]
        for row in try f.conn.query("""
            SELECT external_ref, status, status_event_at, tracking_company, tracking_number FROM orders WHERE status_event_at IS NOT NULL
            """).rows {
            let at = try row.decode("status_event_at", as: Timestamp.self)
            actual[row["external_ref"]!] = "\(row["status"]!) \(at.description) \(row["tracking_company"]!) \(row["tracking_number"]!)"
        }
        #expect(actual == expected)
        for (ref, e) in expected where actual[ref] != e {
            print("DIFF \(ref): expected \(e), got \(actual[ref] ?? "nil")")
            print("DIFF order", try f.scalar("SELECT status || ' ' || coalesce(status_event_at::text, '-') || ' ' || coalesce(tracking_number, '-') || ' ships ' || (SELECT string_agg(tracking_number || ':' || coalesce(status, '-'), ',') FROM shipments WHERE order_id = orders.id) FROM orders WHERE external_ref = '\(ref)'") ?? "none")
            try generator.forEachShipment { r, events in if r == ref { for e in events { print("DIFF ev \(e.status) \(e.time) \(e.trackingNumber)") } } }
        }

        // The same feed again: nothing to change.
        let again = try f.run(definition, [feed])
        #expect(again.tracking?.statusChanged == 0 && again.tracking?.shipmentsAdded == 0 && again.tracking?.confirmed == 0)
    }

    @Test(arguments: ["aftership", "fedex", "ups", "dhl", "usps"])
    func shippedSamplesRunCleanOnTheSampleOrders(carrier: String) throws {
        let f = try PipelineFixture()
        let orders = try PipelineDefinition.load(path: Self.root.appendingPathComponent("pipelines/orders-upsert.yaml").path)
        try f.run(orders, [Self.root.appendingPathComponent("samples/legacy-orders.csv.gz").path])
        // The samples track the later snapshot: the state the demo leaves the legacy orders in.
        let mirror = try PipelineDefinition.load(path: Self.root.appendingPathComponent("pipelines/orders-mirror.yaml").path)
        try f.run(mirror, [Self.root.appendingPathComponent("samples/legacy-orders-later.csv.gz").path])
        let definition = try PipelineDefinition.load(path: Self.root.appendingPathComponent("pipelines/tracking-\(carrier).yaml").path)
        let samples = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("samples/tracking").path)
        let sample = try #require(samples.first { $0.hasPrefix(carrier + ".") })
        let r = try f.run(definition, [Self.root.appendingPathComponent("samples/tracking/\(sample)").path])
        #expect(r.outcome == .applied)
        #expect(r.counts.recordsRead >= 100)
        #expect((r.tracking?.statusChanged ?? 0) > 5)
        #expect(Set(r.rejectsByReason.keys).isSubset(of: ["unknown_shipment", "unknown_event_code"]))
        #expect(r.counts.recordsRejected + (r.tracking?.held ?? 0) > 0)
    }
}

/// Another writer (the API) changing an order between a run's diff and its apply: the run must
/// not overwrite that change (a lost update); it fails, applies nothing, and the re-run
/// applies what is still right.
@Suite("concurrent writers")
struct ConcurrentWriterTests {
    func runWithWriter(_ f: PipelineFixture, _ def: PipelineDefinition, _ input: String, writer sql: String) throws -> RunReport {
        var options = RunOptions()
        options.force = true
        let url = f.url
        options.beforeApply = { try PostgresConnection(url).execute(sql) }
        return try PipelineRun(definition: def, inputs: [input], options: options).run(on: f.conn, runId: "concurrent") { report, _ in report }
    }

    @Test func anOrdersRunDoesNotOverwriteAConcurrentStatusChange() throws {
        let f = try PipelineFixture()
        try f.run(try f.definition(), [try f.file("seed.csv", OrderRunTests.feed)])
        let feed = try f.file("v2.csv", PipelineFixture.header + "A1,c1,shipped,USD,2026-10-01T10:00:00Z,DHL,JD1,p1,2,9.99\nA1,c1,shipped,USD,2026-10-01T10:00:00Z,DHL,JD1,p2,1,5.00\n")
        let api = "UPDATE orders SET status = 'cancelled', updated_at = now() WHERE external_ref = 'A1'"
        let error = #expect(throws: RunError.self) { try runWithWriter(f, try f.definition(), feed, writer: api) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("changed by another writer"))
        #expect(try f.scalar("SELECT status FROM orders WHERE external_ref = 'A1'") == "cancelled")
        #expect(try f.int("SELECT count(*) FROM order_events WHERE kind = 'status_changed'") == 0)
        // Run again: the diff now sees cancelled, and cancelled → shipped is illegal.
        let again = try f.run(try f.definition(), [feed])
        #expect(again.rejectsByReason["illegal_transition"] == 2)
        #expect(try f.scalar("SELECT status FROM orders WHERE external_ref = 'A1'") == "cancelled")
    }

    @Test func aTrackingRunDoesNotOverwriteAConcurrentStatusChange() throws {
        let f = try PipelineFixture()
        try TrackingRunTests.seed(f)
        let feed = try f.file("t.csv", TrackingRunTests.header + "UPS,1Z1,Delivered,2026-11-03T09:00:00Z,,,,\nFedEx,222,Delivered,2026-11-03T09:00:00Z,,,,\n")
        let api = "UPDATE orders SET status = 'exception', updated_at = now() WHERE external_ref = 'A1'"
        #expect(throws: RunError.self) { try runWithWriter(f, try TrackingRunTests.tracking(), feed, writer: api) }
        #expect(try f.scalar("SELECT string_agg(status, ',' ORDER BY external_ref) FROM orders WHERE external_ref IN ('A1', 'A2')") == "exception,in_transit")
        let again = try f.run(try TrackingRunTests.tracking(), [feed])
        #expect(again.tracking?.statusChanged == 2)
        #expect(try f.scalar("SELECT string_agg(status, ',' ORDER BY external_ref) FROM orders WHERE external_ref IN ('A1', 'A2')") == "delivered,delivered")
    }
}
