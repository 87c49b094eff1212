import Foundation
import OrderflowTestSupport
import RunSupport
import Pipeline
import PostgresClient
import Export
import Reports
import Testing

/// `orderflow export` as users and schedulers run it: exit codes, standard output, signals.
@Suite("orderflow export as a process", .serialized)
struct ExportProcessTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Many orders straight into the tables (set-based, seconds even for a debug build).
    func fill(_ f: ExportFixture, orders: Int) throws {
        try f.conn.query("""
            INSERT INTO orders (id, source, external_ref, customer_id, status, currency, created_at, updated_at)
            SELECT gen_random_uuid(), 'legacy', 'X' || g, 'cust-' || (g % 977), 'delivered', 'USD',
                   timestamptz '2026-10-01 00:00:00Z' + g * interval '2 seconds', now()
            FROM generate_series(1, \(orders)) g
            """)
        try f.conn.execute("""
            INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
            SELECT id, n, 'SKU-' || n, n, 9.99 FROM orders, generate_series(1, 3) n
            """)
    }

    func run(_ args: [String]) throws -> ProgramOutput {
        try TestProgram.run(try OrderflowBinary.path(), args)
    }

    @Test
    func exitCodesStandardOutputAndReports() throws {
        let f = try ExportFixture()
        try fill(f, orders: 50)
        let stdout = try run(["export", "--dataset", "orders", "--database", f.url, "-o", "-", "--report-dir", f.path("r-stdout")])
        #expect(stdout.status == 0, "\(stdout.error)")
        let rows = csvRecords(String(decoding: stdout.output, as: UTF8.self))
        #expect(rows.count == 50 && rows.allSatisfy { $0["total"] == "59.94" && $0["units"] == "6" })
        #expect(stdout.error.contains("50 orders")) // messages go to stderr, never into the data
        #expect(FileManager.default.fileExists(atPath: f.path("r-stdout/report.html")))

        let file = try run(["export", "--database", f.url, "--from", "2026-10-01", "--to", "2026-10-02", "-o", f.path("day.csv.gz")])
        #expect(file.status == 0, "\(file.error)")
        // Named after the file, so two exports into one directory keep their own reports.
        let report = try JSONDecoder().decode(ExportReport.self, from: Data(contentsOf: f.dir.appendingPathComponent("day.csv.gz.report.json")))
        #expect(report.output?.gzip == true && report.output?.rows == 50 && report.outcome == .exported)
        #expect(!report.database.contains("password"))

        #expect(try run(["export", "--database", f.url, "--from", "2026-10-01T00:00:00", "-o", f.path("x.csv")]).status == 2)
        #expect(try run(["export", "--database", f.url, "--from", "2026-11-01", "--to", "2026-10-01", "-o", f.path("x.csv")]).status == 2)
        #expect(try run(["export", "--database", f.url, "--timezone", "Nowhere/Special", "-o", f.path("x.csv")]).status == 2)
        #expect(try run(["export", "--database", f.url, "-o", f.path("no/such/dir/x.csv")]).status == 1)
        #expect(!FileManager.default.fileExists(atPath: f.path("x.csv")))
    }

    @Test
    func sigtermMidExportLeavesNoFileAndSaysCancelled() throws {
        let f = try ExportFixture()
        try fill(f, orders: 150_000)
        let out = f.dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try OrderflowBinary.path())
        p.arguments = ["export", "--dataset", "lines", "--database", f.url, "-o", out.appendingPathComponent("lines.csv.gz").path,
                       "--report-dir", f.path("r")]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until the temp file is being written, so the signal lands mid-stream.
        var sawTemp = false
        for _ in 0..<1000 {
            let names = try FileManager.default.contentsOfDirectory(atPath: out.path)
            if names.contains(where: { $0.hasSuffix(".tmp") }),
               let size = try? FileManager.default.attributesOfItem(atPath: out.appendingPathComponent(names[0]).path)[.size] as? Int, size > 0 {
                sawTemp = true
                break
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(sawTemp)
        #expect(p.terminationReason == .exit && p.terminationStatus == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
        let report = try JSONDecoder().decode(ExportReport.self, from: Data(contentsOf: URL(fileURLWithPath: f.path("r/report.json"))))
        #expect(report.outcome == .cancelled && report.message?.contains("SIGTERM") == true)
    }
}
