import Foundation
import OrderModel
import DefinitionFile
import Pipeline
import PostgresClient
import Reports
import Testing

@Suite("orders pipeline against a real PostgreSQL")
struct OrderRunTests {
    static let feed = PipelineFixture.header + """
        A1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,2,9.99
        A1,c1,processing,USD,2026-10-01T10:00:00Z,,,p2,1,5.00
        A2,c2,shipped,EUR,2026-10-02T10:00:00+02:00,UPS,1Z999,p3,1,100
        A3,c3,delivered,USD,2026-10-03T10:00:00Z,FedEx,7777,p4,3,0.10

        """

    @Test func createsExactlyWhatIsFedThenReRunIsANoOp() throws {
        let f = try PipelineFixture()
        let input = try f.file("orders.csv", Self.feed, gzip: true)
        let first = try f.run(try f.definition(), [input])
        #expect(first.outcome == .applied)
        #expect(first.counts.created == 3 && first.counts.recordsRead == 4 && first.counts.recordsRejected == 0)
        #expect(try f.int("SELECT count(*) FROM orders WHERE source = 'legacy'") == 3)
        #expect(try f.int("SELECT count(*) FROM order_items") == 4)
        #expect(try f.scalar("SELECT string_agg(product_id || ':' || quantity || ':' || unit_price, ',' ORDER BY line_no) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE external_ref = 'A1'") == "p1:2:9.99,p2:1:5.00")
        #expect(try f.scalar("SELECT created_at::text FROM orders WHERE external_ref = 'A2'") == "2026-10-02 08:00:00+00")
        #expect(try f.scalar("SELECT status || '/' || tracking_company || '/' || tracking_number || '/' || currency FROM orders WHERE external_ref = 'A2'") == "shipped/UPS/1Z999/EUR")
        #expect(try f.int("SELECT count(*) FROM order_events WHERE kind = 'created' AND run_id IS NOT NULL") == 3)
        // New ids are UUIDv7.
        #expect(try f.int("SELECT count(*) FROM orders WHERE substr(id::text, 15, 1) = '7'") == 3)

        let before = try f.fingerprint()
        let forced = try f.run(try f.definition(), [input])
        #expect(forced.counts.unchanged == 3 && forced.counts.created == 0 && forced.counts.updated == 0)
        #expect(try f.int("SELECT count(*) FROM order_events") == 3)
        // Only the new import_runs row differs.
        #expect(try f.int("SELECT count(*) FROM import_runs") == 2)
        _ = before

        let skipped = try f.run(try f.definition(), [input], force: false)
        #expect(skipped.outcome == .skipped)
        #expect(try f.int("SELECT count(*) FROM import_runs WHERE status = 'applied'") == 2)
        // The skip is in the history too, under the id its report names.
        #expect(try f.scalar("SELECT status FROM import_runs WHERE id = \(skipped.importRunId ?? -1)") == "skipped")
    }

    @Test func updatesStatusShippingItemsAndOtherFieldsWithHistory() throws {
        let f = try PipelineFixture()
        try f.run(try f.definition(), [try f.file("v1.csv", Self.feed)])
        let v2 = PipelineFixture.header + """
            A1,c1,shipped,USD,2026-10-01T10:00:00Z,DHL,JD1,p1,2,9.99
            A1,c1,shipped,USD,2026-10-01T10:00:00Z,DHL,JD1,p2,1,5.00
            A2,c2-new,shipped,EUR,2026-10-02T10:00:00+02:00,UPS,1Z999,p3,1,100
            A3,c3,delivered,USD,2026-10-03T10:00:00Z,FedEx,7777,p4,4,0.10
            A3,c3,delivered,USD,2026-10-03T10:00:00Z,FedEx,7777,p5,1,2

            """
        let r = try f.run(try f.definition(), [try f.file("v2.csv", v2)])
        #expect(r.counts.updated == 3)
        #expect(r.counts.statusChanged == 1 && r.counts.shippingChanged == 1 && r.counts.itemsChanged == 1 && r.counts.otherChanged == 1)
        #expect(try f.scalar("SELECT status || '/' || tracking_company FROM orders WHERE external_ref = 'A1'") == "shipped/DHL")
        #expect(try f.scalar("SELECT customer_id FROM orders WHERE external_ref = 'A2'") == "c2-new")
        #expect(try f.scalar("SELECT string_agg(product_id || ':' || quantity, ',' ORDER BY line_no) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE external_ref = 'A3'") == "p4:4,p5:1")
        #expect(try f.scalar("SELECT from_status || '>' || to_status FROM order_events WHERE kind = 'status_changed'") == "processing>shipped")
        #expect(try f.int("SELECT count(*) FROM order_events WHERE kind IN ('shipping_updated', 'items_changed', 'updated')") == 3)
        #expect(try f.scalar("SELECT changed_fields::text FROM order_events WHERE kind = 'updated'") == "{customer_id}")
    }

    @Test func illegalTransitionIsRejectedUnlessNotEnforced() throws {
        let f = try PipelineFixture()
        try f.run(try f.definition(), [try f.file("v1.csv", Self.feed)])
        let back = PipelineFixture.header + "A3,c3,processing,USD,2026-10-03T10:00:00Z,FedEx,7777,p4,3,0.10\n"
        let r = try f.run(try f.definition(), [try f.file("back.csv", back)])
        #expect(r.counts.rejectedOrders == 1 && r.rejectsByReason["illegal_transition"] == 1)
        #expect(r.rejectExamples["illegal_transition"]?.first?.message == "illegal status transition from delivered to processing")
        #expect(r.rejectExamples["illegal_transition"]?.first?.line == 2)
        #expect(try f.scalar("SELECT status FROM orders WHERE external_ref = 'A3'") == "delivered")
        let migration = try f.run(try f.definition("enforce_transitions: false"), [try f.file("back2.csv", back)])
        #expect(migration.counts.updated == 1)
        #expect(try f.scalar("SELECT status FROM orders WHERE external_ref = 'A3'") == "processing")
    }

    @Test func everyRowRejectReasonWithLineNumbersInTheRejectsFile() throws {
        let f = try PipelineFixture()
        let long = String(repeating: "x", count: 300)
        let feed = PipelineFixture.header + """
            B1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,2,9.99
            B2,,processing,USD,2026-10-01T10:00:00Z,,,p1,2,9.99
            B3,c3,processing,USD,2026-10-01T10:00:00Z,,,p1,two,9.99
            B4,c4,processing,USD,2026-10-01T10:00:00Z,,,p1,2
            B5,\(long),processing,USD,2026-10-01T10:00:00Z,,,p1,2,1
            B6,c6,lost,USD,2026-10-01T10:00:00Z,,,p1,2,1
            B7,c7,processing,USD,2026-10-01T10:00:00,,,p1,2,1
            B8,c8,processing,USD,2026-10-01T10:00:00Z,,,p1,2,-1
            B9,c9,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            B9,c9-other,processing,USD,2026-10-01T10:00:00Z,,,p2,1,1
            B10,c10,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            B10,c10,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            B11,c11,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            B11,c11,processing,USD,2026-10-01T10:00:00Z,,,p2,0,1
            ,c12,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1

            """
        var bytes = Array(feed.utf8)
        bytes += Array("B13,c\u{FF}13,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1\n".utf8)
        bytes[bytes.count - 45] = 0xFF // an invalid UTF-8 byte inside customer_id
        let path = f.dir.appendingPathComponent("bad.csv").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let r = try f.run(try f.definition(), [path])
        // B10 repeats a product on two lines: two lines of one order, not a reject.
        #expect(r.counts.created == 2)
        #expect(r.counts.recordsRead == 16)
        #expect(r.counts.recordsRejected == 13)
        let expected: [String: Int] = [
            "missing_field": 2, "invalid_quantity": 2, "ragged_row": 1, "field_too_long": 1, "invalid_status": 1,
            "invalid_created_at": 1, "invalid_unit_price": 1, "conflicting_order_rows": 2,
            "order_incomplete": 1, "invalid_utf8": 1,
        ]
        #expect(r.rejectsByReason == expected)
        // The invalid UTF-8 byte is kept as it was, so read bytes, not UTF-8 text.
        // The run returns the report as written, naming its rejects file.
        let rejects = String(decoding: try Data(contentsOf: URL(fileURLWithPath: try #require(r.rejectsFile))), as: UTF8.self)
        let lines = rejects.split(separator: "\n")
        #expect(lines.first == "external_ref,customer_id,status,currency,created_at,tracking_company,tracking_number,product_id,quantity,unit_price,line,reason,message")
        #expect(lines.count == 14)
        #expect(lines[1].hasPrefix("B2,,processing,USD,2026-10-01T10:00:00Z,,,p1,2,9.99,3,missing_field,"))
        #expect(lines[3].hasPrefix("B4,c4,processing,USD,2026-10-01T10:00:00Z,,,p1,2,5,ragged_row,"))
        #expect(lines.contains { $0.hasPrefix("B11,c11,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1,14,order_incomplete,") })
        #expect(lines.contains { $0.hasPrefix("B11,c11,processing,USD,2026-10-01T10:00:00Z,,,p2,0,1,15,invalid_quantity,") })
    }

    @Test func aSessionThatAlreadyUsedTempTablesStillRuns() throws {
        let f = try PipelineFixture()
        // temp_buffers can no longer change in this session; the run must shrug that off.
        try f.conn.execute("SET temp_buffers = '16MB'; CREATE TEMP TABLE scratch (v int); INSERT INTO scratch VALUES (1)")
        #expect(try f.run(try f.definition(), [try f.file("o.csv", Self.feed)]).counts.created == 3)
    }

    @Test func unknownOrderIdIsASemanticReject() throws {
        let f = try PipelineFixture()
        let feed = "order_id,customer_id,product_id,quantity\n0190b3a4-0000-7000-8000-000000000001,c1,p1,1\n"
        let r = try f.run(try f.definition(), [try f.file("ids.csv", feed)])
        #expect(r.rejectsByReason == ["unknown_order": 1])
        #expect(try f.int("SELECT count(*) FROM orders") == 0)
    }

    @Test func anIdAndARefNamingTheSameOrderAreBothRejected() throws {
        let f = try PipelineFixture()
        try f.run(try f.definition(), [try f.file("v1.csv", Self.feed)])
        let id = try #require(try f.scalar("SELECT id::text FROM orders WHERE external_ref = 'A2'"))
        let feed = """
            order_id,external_ref,customer_id,status,currency,created_at,product_id,quantity,unit_price
            \(id),,c2,shipped,EUR,2026-10-02T10:00:00+02:00,p3,2,100
            ,A2,c2,shipped,EUR,2026-10-02T10:00:00+02:00,p3,3,100

            """
        let r = try f.run(try f.definition(), [try f.file("both.csv", feed)])
        #expect(r.rejectsByReason == ["conflicting_order_rows": 2])
        #expect(r.rejectExamples["conflicting_order_rows"]?.first?.message.contains("name the same order") == true)
        #expect(try f.int("SELECT quantity FROM order_items i JOIN orders o ON o.id = i.order_id WHERE external_ref = 'A2'") == 1)
    }

    @Test func nonAdjacentRowsOfAnOrderAreOneOrder() throws {
        let f = try PipelineFixture()
        let feed = PipelineFixture.header + """
            C1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            C2,c2,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            C1,c1,processing,USD,2026-10-01T10:00:00Z,,,p2,2,2
            C2,c2,processing,USD,2026-10-01T10:00:00Z,,,p9,9,9

            """
        let r = try f.run(try f.definition(), [try f.file("mixed.csv", feed)])
        #expect(r.counts.created == 2)
        #expect(try f.scalar("SELECT string_agg(product_id || '@' || line_no, ',' ORDER BY line_no) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE external_ref = 'C1'") == "p1@1,p2@2")
        #expect(try f.int("SELECT count(DISTINCT order_id) FROM order_items") == 2)
        // The same feed again changes nothing.
        #expect(try f.run(try f.definition(), [try f.file("mixed2.csv", feed)]).counts.unchanged == 2)
    }

    @Test func rowsOfAnOrderInSeveralPiecesAreCheckedAcrossPieces() throws {
        let f = try PipelineFixture()
        let feed = PipelineFixture.header + """
            D1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            D2,c2,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            D1,c1-other,processing,USD,2026-10-01T10:00:00Z,,,p2,1,1
            D3,c3,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            D2,c2,processing,USD,2026-10-01T10:00:00Z,,,p1,5,1
            D4,c4,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1
            D3,c3,processing,USD,2026-10-01T10:00:00Z,,,p2,1,1

            """
        let r = try f.run(try f.definition(), [try f.file("pieces.csv", feed)])
        // D2 lists p1 twice, in two pieces: two lines, numbered by position in the feed.
        #expect(r.rejectsByReason == ["conflicting_order_rows": 2])
        #expect(r.counts.created == 3)
        #expect(try f.scalar("SELECT string_agg(external_ref || ':' || (SELECT string_agg(product_id || 'x' || quantity, '+' ORDER BY line_no) FROM order_items WHERE order_id = o.id), ',' ORDER BY external_ref) FROM orders o") == "D2:p1x1+p1x5,D3:p1x1+p2x1,D4:p1x1")
    }

    @Test func deletesAndMirrorModeWithItsGuard() throws {
        let f = try PipelineFixture()
        var rows = ""
        for i in 1...40 { rows += "M\(i),c\(i),processing,USD,2026-10-01T10:00:00Z,,,p1,1,1\n" }
        try f.run(try f.definition(), [try f.file("all.csv", PipelineFixture.header + rows)])
        #expect(try f.int("SELECT count(*) FROM orders") == 40)

        // An explicit delete, and a delete of an order that is already gone (a no-op).
        let del = "external_ref,action,customer_id,product_id,quantity\nM40,delete,,,\nGONE,delete,,,\n"
        let d = try f.run(try f.definition(), [try f.file("del.csv", del)])
        #expect(d.counts.deleted == 1 && d.counts.unchanged == 1)
        #expect(try f.int("SELECT count(*) FROM orders") == 39)
        #expect(try f.int("SELECT count(*) FROM order_events WHERE kind = 'deleted'") == 1)

        // Mirror: 38 of 39 in the feed → one delete (2.6%) is within the 5% guard.
        var mirror = ""
        for i in 1...38 { mirror += "M\(i),c\(i),processing,USD,2026-10-01T10:00:00Z,,,p1,1,1\n" }
        let m = try f.run(try f.definition(mode: "mirror"), [try f.file("mirror.csv", PipelineFixture.header + mirror)])
        #expect(m.counts.mirrorDeleted == 1 && m.counts.unchanged == 38)
        #expect(try f.int("SELECT count(*) FROM orders") == 38)

        // 30 of 38 → 8 deletes (21%) exceeds it: nothing applied.
        var few = ""
        for i in 1...30 { few += "M\(i),c\(i),shipped,USD,2026-10-01T10:00:00Z,,,p1,1,1\n" }
        let before = try f.fingerprint()
        #expect(throws: RunError.self) { try f.run(try f.definition(mode: "mirror"), [try f.file("few.csv", PipelineFixture.header + few)]) }
        #expect(f.lastReport.value?.outcome == .aborted)
        #expect(f.lastReport.value?.counts.mirrorDeleted == 8)
        #expect(try f.fingerprint() == before)

        // An empty feed never deletes everything, whatever the ratio.
        let empty = try f.file("empty.csv", PipelineFixture.header)
        #expect(throws: RunError.self) { try f.run(try f.definition("", mode: "mirror").withDeleteRatio(1.0), [empty]) }
        #expect(try f.fingerprint() == before)
    }

    @Test func dryRunAndRejectGuardWriteNothing() throws {
        let f = try PipelineFixture()
        let before = try f.fingerprint()
        let dry = try f.run(try f.definition(), [try f.file("o.csv", Self.feed)], dryRun: true)
        #expect(dry.outcome == .dryRun && dry.counts.created == 3)
        let markdown = ReportWriter.markdown(dry)
        #expect(markdown.contains("Changes that would be applied (nothing was)"))
        #expect(markdown.contains("| would be created | 3 |"))
        #expect(try f.fingerprint() == before)

        let bad = PipelineFixture.header + "X1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,0,1\n"
        #expect(throws: RunError.self) { try f.run(try f.definition(maxRejects: "0"), [try f.file("bad.csv", Self.feed + bad.split(separator: "\n")[1] + "\n")]) }
        #expect(f.lastReport.value?.outcome == .aborted)
        #expect(try f.fingerprint() == before)
    }

    @Test func brokenGzipFailsTheRunAndChangesNothing() throws {
        let f = try PipelineFixture()
        try f.run(try f.definition(), [try f.file("o.csv", Self.feed)])
        let before = try f.fingerprint()
        var big = PipelineFixture.header
        for i in 0..<20_000 { big += "T\(i),c\(i),shipped,USD,2026-10-01T10:00:00Z,UPS,1Z\(i),p1,1,1\n" }
        let gz = try f.file("big.csv", big, gzip: true)
        let data = try Data(contentsOf: URL(fileURLWithPath: gz))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: gz))
        #expect(throws: (any Error).self) { try f.run(try f.definition(), [gz]) }
        #expect(try f.fingerprint() == before)
        #expect(!f.conn.inTransaction)
    }

    @Test func ndjsonFeedGivesTheSameOrdersAsCSV() throws {
        let csv = try PipelineFixture(), json = try PipelineFixture()
        try csv.run(try csv.definition(), [try csv.file("o.csv", Self.feed)])
        let nd = """
            {"externalRef":"A1","customerId":"c1","status":"processing","currency":"USD","createdAt":"2026-10-01T10:00:00Z","products":[{"productId":"p1","quantity":2,"unitPrice":9.99},{"productId":"p2","quantity":1,"unitPrice":5.00}]}

            {"externalRef":"A2","customerId":"c2","status":"shipped","currency":"EUR","createdAt":"2026-10-02T10:00:00+02:00","trackingCompany":"UPS","trackingNumber":"1Z999","products":[{"productId":"p3","quantity":1,"unitPrice":100}]}
            {"externalRef":"A3","customerId":"c3","status":"delivered","currency":"USD","createdAt":"2026-10-03T10:00:00Z","trackingCompany":"FedEx","trackingNumber":"7777","products":[{"productId":"p4","quantity":3,"unitPrice":0.10}]}
            {"externalRef":"A4","customerId":"c4","products":[{"productId":"p4","quantity":1.5}]}
            {"externalRef":"A5" "customerId":"c5"}

            """
        let r = try json.run(try json.definition(), [try json.file("o.ndjson", nd, gzip: true)])
        #expect(r.counts.created == 3)
        #expect(r.rejectsByReason == ["invalid_quantity": 1, "malformed_record": 1])
        #expect(r.rejectExamples["malformed_record"]?.first?.line == 6)
        let shape = "SELECT string_agg(o.external_ref || o.customer_id || o.status || o.currency || o.created_at || coalesce(o.tracking_number, '') || i.product_id || i.quantity || i.unit_price, ';' ORDER BY o.external_ref, i.line_no) FROM orders o JOIN order_items i ON i.order_id = o.id"
        #expect(try csv.scalar(shape) == json.scalar(shape))
        let rejects = try String(contentsOfFile: try #require(json.lastReport.value?.rejectsFile), encoding: .utf8)
        #expect(rejects.contains(#"{"line":5,"reason":"invalid_quantity","message":"products[0]: quantity \"1.5\" is not a whole number","externalRef":"A4""#))
        #expect(rejects.contains(#""record":"{\"externalRef\":\"A5\" \"customerId\":\"c5\"}""#))
    }

    @Test func wrongPipelineDefinitionsSayFileKeyAndExpectation() throws {
        #expect(throws: DefinitionError(file: "p.yaml", key: "mode", expected: "upsert or mirror")) {
            try PipelineDefinition.parse(yaml: "name: x\nkind: orders\nsource: s\nmode: sometimes\n", file: "p.yaml")
        }
        #expect(throws: DefinitionError.self) { try PipelineDefinition.parse(yaml: "name: x\nkind: orders\nsource: s\nguard:\n  max_rejects: 1\n") }
        #expect(throws: DefinitionError.self) { try PipelineDefinition.parse(yaml: "name: x\nkind: orders\nsource: s\nguards:\n  max_rejects: lots\n") }
        #expect(throws: DefinitionError.self) { try PipelineDefinition.parse(yaml: "name: x\nkind: orders\nsource: s\nmapping:\n  colour: C\n") }
        #expect(throws: DefinitionError.self) { try PipelineDefinition.parse(yaml: "name: x\nkind: orders\n") }
        let ok = try PipelineDefinition.parse(yaml: "name: x\nkind: orders\nsource: s\nguards:\n  max_rejects: \"2.5%\"\n  max_delete_ratio: 10%\nmapping:\n  external_ref: OrderNo\n")
        #expect(ok.guards.maxRejects == .percent(2.5))
        #expect(ok.guards.maxDeleteRatio == 0.1)
        #expect(ok.column(for: "external_ref", format: .csv) == "OrderNo")
        #expect(ok.column(for: "customer_id", format: .ndjson) == "customerId")
    }

    @Test func trackingPipelineKeysAreCheckedBeforeAnyDataIsRead() throws {
        func fails(_ yaml: String, key: String) {
            let error = #expect(throws: DefinitionError.self) {
                try PipelineDefinition.parse(yaml: "name: t\nkind: tracking\nsource: s\n" + yaml, file: "t.yaml")
            }
            #expect(error?.key == key)
        }
        fails("event_codes:\n  X: Teleported\n", key: "event_codes.X")
        fails("event_time:\n  format: YYYY-MM-DD\n  zone: UTC\n", key: "event_time.format")
        fails("event_time:\n  format: rfc3339\n  zone: Mars/Olympus\n", key: "event_time.zone")
        fails("event_time:\n  format: YYYYMMDD HHmmss\n", key: "event_time.format")
        fails("mode: mirror\n", key: "mode")
        fails("mapping:\n  customer_id: Cust\n", key: "mapping.customer_id")
        #expect(throws: DefinitionError.self) {
            try PipelineDefinition.parse(yaml: "name: o\nkind: orders\nsource: s\nevent_codes:\n  X: Delivered\n")
        }
        let ok = try PipelineDefinition.parse(yaml: """
            name: t
            kind: tracking
            source: s
            carrier: fedex
            event_time: {format: "M/D/YYYY h:mm a", zone: America/Chicago}
            event_codes: {DL: Delivered, "01": in_transit, CA: none}
            mapping: {tracking_number: Tracking Number}
            """)
        #expect(ok.tracking.carrier == "FedEx")
        #expect(ok.tracking.eventCodes == ["DL": .status(.delivered), "01": .status(.inTransit), "CA": .noChange])
        #expect(ok.tracking.eventTime.zone == "America/Chicago")
        #expect(ok.column(for: "tracking_number", format: .csv) == "Tracking Number")
        #expect(ok.column(for: "event_time", format: .ndjson) == "eventTime")
    }

    @Test func repositoryPipelinesParse() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for name in ["orders-upsert", "orders-mirror", "legacy-erp", "tracking-aftership", "tracking-fedex", "tracking-ups", "tracking-dhl", "tracking-usps"] {
            let def = try PipelineDefinition.load(path: root.appendingPathComponent("pipelines/\(name).yaml").path)
            #expect(def.name == name)
        }
    }
}

extension PipelineDefinition {
    func withDeleteRatio(_ r: Double) -> PipelineDefinition {
        var copy = self
        copy.guards.maxDeleteRatio = r
        return copy
    }
}
