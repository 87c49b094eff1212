import Feeds
import Foundation
import Pipeline
import PostgresClient
import Testing

/// Input that tries to break the pipeline: every case ends as a clear reject (with its reason
/// and line) or a clear error, and the orders already stored are untouched.
@Suite("hostile input against the orders pipeline")
struct HostileInputTests {
    static let good = "H1,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1.00\n"

    /// Orders, items and history: what a failed or rejecting run must leave alone.
    static func orderState(_ f: PipelineFixture) throws -> String {
        try f.scalar("""
            SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
              SELECT o::text AS x FROM orders o UNION ALL SELECT i::text FROM order_items i
              UNION ALL SELECT 'events:' || count(*) FROM order_events) t
            """) ?? ""
    }

    static func seeded() throws -> (PipelineFixture, String) {
        let f = try PipelineFixture()
        try f.run(try f.definition(), [try f.file("seed.csv", OrderRunTests.feed)])
        return (f, try orderState(f))
    }

    /// One bad record among good ones: rejected with `reason` at line 3; the good record applies.
    @Test(arguments: [
        ("a NUL byte", "N1,c\u{0}x,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1.00\n", "invalid_customer_id"),
        ("a control character", "N2,c1,processing,USD,2026-10-01T10:00:00Z,,,p\u{7}1,1,1.00\n", "invalid_product_id"),
        ("an overflowing quantity", "N3,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,99999999999999999999999,1.00\n", "invalid_quantity"),
        ("a negative quantity", "N4,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,-1,1.00\n", "invalid_quantity"),
        ("an absurd price", "N5,c1,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1e400\n", "invalid_unit_price"),
        ("a zone-less time", "N6,c1,processing,USD,2026-10-01T10:00:00,,,p1,1,1.00\n", "invalid_created_at"),
        ("an impossible date", "N7,c1,processing,USD,2026-02-30T10:00:00Z,,,p1,1,1.00\n", "invalid_created_at"),
        ("an unknown status", "N8,c1,teleported,USD,2026-10-01T10:00:00Z,,,p1,1,1.00\n", "invalid_status"),
        ("a 300-byte id", "N9,\(String(repeating: "x", count: 300)),processing,USD,2026-10-01T10:00:00Z,,,p1,1,1.00\n", "field_too_long"),
        ("a stray quote", "N10,c\"1,processing,USD,2026-10-01T10:00:00Z,,,p1,1,1.00\n", "malformed_record"),
    ])
    func aBadCSVRecordIsRejectedAndTheRestApplies(name: String, record: String, reason: String) throws {
        let (f, _) = try Self.seeded()
        let r = try f.run(try f.definition(), [try f.file("bad.csv", PipelineFixture.header + Self.good + record, gzip: true)])
        #expect(r.outcome == .applied, "\(name)")
        #expect(r.rejectsByReason == [reason: 1], "\(name)")
        #expect(r.rejectExamples[reason]?.first?.line == 3, "\(name)")
        #expect(try f.int("SELECT count(*) FROM orders WHERE external_ref = 'H1'") == 1)
        #expect(try f.int("SELECT count(*) FROM orders WHERE external_ref LIKE 'N%'") == 0)
    }

    @Test func invalidUTF8IsRejected() throws {
        let (f, _) = try Self.seeded()
        var bytes = Array((PipelineFixture.header + Self.good).utf8)
        bytes += Array("U1,c1,processing,USD,2026-10-01T10:00:00Z,,,p".utf8) + [0xC3, 0x28] + Array(",1,1.00\n".utf8)
        let path = f.dir.appendingPathComponent("utf8.csv").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let r = try f.run(try f.definition(), [path])
        #expect(r.rejectsByReason == ["invalid_utf8": 1])
    }

    /// NDJSON that is not what it seems: nesting bombs, duplicate keys, wrong types.
    @Test(arguments: [
        ("deep nesting", "{\"externalRef\":\"J1\",\"x\":" + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}", "malformed_record"),
        ("a duplicate key", #"{"externalRef":"J2","customerId":"a","customerId":"b","products":[{"productId":"p","quantity":1}]}"#, "malformed_record"),
        ("an object where text belongs", #"{"externalRef":"J3","customerId":{"id":1},"products":[{"productId":"p","quantity":1}]}"#, "invalid_customer_id"),
        ("a huge number", #"{"externalRef":"J4","customerId":"c","products":[{"productId":"p","quantity":1e999999}]}"#, "invalid_quantity"),
        ("not JSON", "externalRef=J5", "malformed_record"),
    ])
    func aBadNDJSONLineIsRejected(name: String, line: String, reason: String) throws {
        let (f, _) = try Self.seeded()
        let good = #"{"externalRef":"H1","customerId":"c1","products":[{"productId":"p1","quantity":1}]}"#
        let r = try f.run(try f.definition(), [try f.file("bad.ndjson", good + "\n" + line + "\n")])
        #expect(r.rejectsByReason == [reason: 1], "\(name)")
        #expect(r.rejectExamples[reason]?.first?.line == 2, "\(name)")
        #expect(try f.int("SELECT count(*) FROM orders WHERE external_ref = 'H1'") == 1)
    }

    /// Input the run cannot read at all: a clear error, and nothing applied.
    @Test(arguments: ["enormous field", "enormous NDJSON line", "gzip bomb", "truncated gzip", "missing columns"])
    func unreadableInputFailsClearlyAndChangesNothing(name: String) throws {
        let (f, before) = try Self.seeded()
        var definition = try f.definition()
        let path: String
        switch name {
        case "enormous field":
            path = try f.file("huge.csv", PipelineFixture.header + Self.good + "E1,\(String(repeating: "c", count: 2 << 20)),processing,USD,,,,p,1,1\n")
        case "enormous NDJSON line":
            path = try f.file("huge.ndjson", "{\"externalRef\":\"E2\",\"pad\":\"\(String(repeating: "x", count: 40 << 20))\"}\n")
        case "gzip bomb":
            definition.maxCompressionRatio = 100
            let p = f.dir.appendingPathComponent("bomb.csv.gz").path
            var gz: [UInt8] = []
            let writer = try GzipWriter(level: 9) { gz.append(contentsOf: $0) }
            try writer.write(Array(PipelineFixture.header.utf8))
            let zeros = [UInt8](repeating: 0x30, count: 1 << 20)
            for _ in 0..<20 { try writer.write(zeros) }
            try writer.finish()
            try Data(gz).write(to: URL(fileURLWithPath: p))
            path = p
        case "truncated gzip":
            let full = try f.file("t.csv", PipelineFixture.header + String(repeating: Self.good, count: 2000), gzip: true)
            let data = try Data(contentsOf: URL(fileURLWithPath: full))
            path = f.dir.appendingPathComponent("cut.csv.gz").path
            try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        default:
            path = try f.file("cols.csv", "external_ref,colour\nX1,red\n")
        }
        let error = #expect(throws: (any Error).self, "\(name)") { try f.run(definition, [path]) }
        let text = "\(error.map { "\($0)" } ?? "")"
        #expect(!text.isEmpty && text.count < 2000, "\(name): \(text.prefix(300))")
        #expect(try Self.orderState(f) == before, "\(name)")
    }

    @Test(arguments: ["", "\n\n", PipelineFixture.header, "\u{FEFF}" + PipelineFixture.header + "\r\n"])
    func emptyAndHeaderOnlyFilesApplyNothing(content: String) throws {
        let (f, before) = try Self.seeded()
        let r = try f.run(try f.definition(), [try f.file("empty.csv", content)])
        #expect(r.outcome == .applied && r.counts.recordsRead == 0 && r.counts.created == 0)
        #expect(try Self.orderState(f) == before)
    }

    /// Values and names that look like SQL are data: bound, quoted, stored as written.
    @Test func sqlLookingValuesAndNamesAreStoredAsText() throws {
        let f = try PipelineFixture()
        let source = "x'); DROP TABLE orders; --"
        let definition = try PipelineDefinition.parse(yaml: """
            name: "p'; DELETE FROM import_runs; --"
            kind: orders
            source: "\(source)"
            mapping:
              customer_id: "cust\\"; DROP TABLE order_items; --"
            """)
        let feed = """
            external_ref,"cust""; DROP TABLE order_items; --",product_id,quantity,unit_price
            "Robert'); DROP TABLE orders;--","1; SELECT pg_sleep(10)",$$p$$,1,1.00

            """
        let r = try f.run(definition, [try f.file("sql.csv", feed)])
        #expect(r.counts.created == 1 && r.counts.recordsRejected == 0)
        #expect(try f.scalar("SELECT source || '|' || external_ref || '|' || customer_id FROM orders") == "\(source)|Robert'); DROP TABLE orders;--|1; SELECT pg_sleep(10)")
        #expect(try f.scalar("SELECT product_id FROM order_items") == "$$p$$")
        #expect(try f.scalar("SELECT pipeline FROM import_runs") == "p'; DELETE FROM import_runs; --")
    }
}
