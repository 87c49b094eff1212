import Feeds
import Foundation
import RunSupport
import OrderModel
import Pipeline
import PostgresClient
import OrderflowTestSupport
import Export
import Reports

/// A fresh migrated database, a scratch directory, and helpers to fill and export it.
struct ExportFixture: DatabaseFixtureBased {
    let base: DatabaseFixture

    init() throws {
        base = try DatabaseFixture(prefix: "of-export")
    }

    static let header = DatabaseFixture.ordersHeader

    /// Imports a canonical CSV feed with the orders pipeline (source `legacy`).
    @discardableResult
    func importFeed(_ csv: String, name: String = "feed.csv", maxRejects: String = "0", on connection: PostgresConnection? = nil) throws -> RunReport {
        let input = path(name)
        try Data(csv.utf8).write(to: URL(fileURLWithPath: input))
        return try importFile(input, maxRejects: maxRejects, on: connection)
    }

    /// Imports a feed file with the orders pipeline, writing its reports under the fixture.
    @discardableResult
    func importFile(_ input: String, extraYAML: String = "", maxRejects: String = "0", on connection: PostgresConnection? = nil,
                    reportDir: URL? = nil) throws -> RunReport {
        let def = try PipelineDefinition.parse(yaml: """
            name: test-import
            kind: orders
            source: legacy
            mode: upsert
            enforce_transitions: false
            guards:
              max_rejects: \(maxRejects)
            \(extraYAML)
            """)
        var options = RunOptions()
        options.force = true
        let reportDir = reportDir ?? dir.appendingPathComponent("run-\(UInt32.random(in: 0...UInt32.max))")
        return try PipelineRun(definition: def, inputs: [input], options: options).run(on: connection ?? conn, runId: "test") { report, rejects in
            try ReportWriter(directory: reportDir).write(report, rejects: rejects, definition: def, inputs: [input])
        }
    }

    /// Inserts one order with its items straight into the tables (for values no feed would carry).
    func insertOrder(ref: String, customer: String, status: String = "delivered", currency: String = "USD",
                     createdAt: String, items: [(product: String, quantity: Int, price: String)]) throws {
        let id = try conn.query("""
            INSERT INTO orders (id, source, external_ref, customer_id, status, currency, created_at, updated_at)
            VALUES (gen_random_uuid(), 'legacy', \(ref), \(customer), \(status), \(currency), \(createdAt)::timestamptz, \(createdAt)::timestamptz)
            RETURNING id::text AS id
            """).rows[0].decode("id", as: String.self)
        for (n, item) in items.enumerated() {
            try conn.query("""
                INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
                VALUES (\(id)::uuid, \(n + 1), \(item.product), \(item.quantity), \(item.price)::numeric)
                """)
        }
    }

    /// Runs an export; the report is also written (json, md, html) beside the file.
    func export(_ definition: ExportDefinition, to name: String, chunkSize: Int = 1 << 20,
                configure: (inout FinanceExport) -> Void = { _ in }) throws -> ExportReport {
        var export = FinanceExport(definition: definition)
        export.chunkSize = chunkSize
        configure(&export)
        let report = try export.run(on: conn, output: path(name), exportId: "test-export")
        try ExportReportWriter(directory: dir).write(report)
        return report
    }

    func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: dir.appendingPathComponent(name)))
    }

    func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self)
    }

    /// File names in the fixture's directory (to prove no temp file is left behind).
    func files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    }


}

/// A strict RFC 4180 reader for what the tests read back (fields may hold quotes, commas, newlines).
func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = [], row: [String] = [], field = ""
    var quoted = false, afterQuote = false
    var chars = Array(text.unicodeScalars)[...]
    if chars.first == "\u{FEFF}" { chars = chars.dropFirst() }
    var i = chars.startIndex
    while i < chars.endIndex {
        let c = chars[i]
        if quoted {
            if c == "\"" {
                if i + 1 < chars.endIndex && chars[i + 1] == "\"" { field.unicodeScalars.append("\""); i += 1 } else { quoted = false; afterQuote = true }
            } else {
                field.unicodeScalars.append(c)
            }
        } else if c == "\"" && field.isEmpty && !afterQuote {
            quoted = true
        } else if c == "," {
            row.append(field); field = ""; afterQuote = false
        } else if c == "\n" {
            row.append(field); rows.append(row); row = []; field = ""; afterQuote = false
        } else {
            field.unicodeScalars.append(c)
        }
        i += 1
    }
    if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
    return rows
}

/// The rows of a CSV as dictionaries keyed by the header.
func csvRecords(_ text: String) -> [[String: String]] {
    let rows = parseCSV(text)
    guard let header = rows.first else { return [] }
    return rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
}
