import DefinitionFile
import Foundation
import OrderModel
import OrderStore
import OrderflowTestSupport
import Pipeline
import PostgresClient
import Export
import Reports
import Synchronization
import Testing

/// Incremental exports against a real PostgreSQL: each change in exactly one file, none missed,
/// with writers running while the exports do; the ledger, --rerun and control totals.
@Suite("incremental exports and the export ledger", .serialized)
struct IncrementalExportTests {
    static func incremental(_ name: String, _ dataset: ExportDefinition.Dataset) -> ExportDefinition {
        var d = ExportDefinition()
        d.name = name
        d.dataset = dataset
        d.incremental = true
        return d
    }

    static func feed(_ refs: Range<Int>, status: String, price: String = "1.00", prefix: String = "R") -> String {
        var csv = DatabaseFixture.ordersHeader
        for i in refs { csv += "\(prefix)\(i),c\(i % 7),\(status),USD,2026-10-01T10:00:00Z,,,p1,2,\(price)\n" }
        return csv
    }

    static func bulkRun(_ url: String, _ path: String) throws -> RunReport {
        let definition = try PipelineDefinition.parse(yaml: "name: bulk\nkind: orders\nsource: legacy\nmode: upsert\nenforce_transitions: false\n")
        var options = RunOptions()
        options.force = true
        return try PipelineRun(definition: definition, inputs: [path], options: options)
            .run(on: try PostgresConnection(url), runId: "bulk") { report, _ in report }
    }

    static func orderId(_ f: ExportFixture, _ ref: String) throws -> UUID {
        try #require(UUID(uuidString: try f.conn.query("SELECT id::text AS id FROM orders WHERE external_ref = \(ref)").rows[0].decode("id", as: String.self)))
    }

    @Test func eachChangeIsInExactlyOneFileWhoeverWroteIt() throws {
        let f = try ExportFixture()
        try f.importFeed(Self.feed(0..<20, status: "processing"))
        var ordersDef = Self.incremental("nightly-orders", .orders)
        let first = try f.export(ordersDef, to: "n1.csv")
        #expect(first.output?.rows == 20 && first.incremental?.since == nil && first.ledgerId != nil)
        #expect(first.control?.matched == true && first.control?.rows == 20)

        // Nothing changed: an empty file, and the cursor still moves on.
        let idle = try f.export(ordersDef, to: "n2.csv")
        #expect(idle.output?.rows == 0 && idle.incremental?.sinceExport == first.ledgerId)

        // A bulk run (3 changed, 2 new), the API's repository (1 status), and a hand-written UPDATE
        // (the trigger stamps it) change 6 orders; a re-run of an applied feed changes none.
        try f.importFeed(Self.feed(0..<3, status: "shipped") + Self.feed(20..<22, status: "processing").dropFirst(DatabaseFixture.ordersHeader.count))
        let apiOrder = try Self.orderId(f, "R10")
        _ = try OrderRepository().updateStatus(apiOrder, to: .shipped, now: .now, on: f.conn)
        try f.conn.execute("UPDATE orders SET customer_id = 'moved' WHERE external_ref = 'R11'")
        try f.importFeed(Self.feed(0..<3, status: "shipped"))
        let third = try f.export(ordersDef, to: "n3.csv")
        let refs = csvRecords(try f.text("n3.csv")).map { $0["external_ref"] ?? "" }.sorted()
        #expect(refs == ["R0", "R1", "R10", "R11", "R2", "R20", "R21"].sorted(), "\(refs)")
        #expect(third.output?.rows == 7 && third.summary?.orders == 7 && third.control?.matched == true)

        // History: the events since, once each; the orders dataset's cursor is its own.
        let historyDef = Self.incremental("nightly-orders", .history)
        let h1 = try f.export(historyDef, to: "h1.csv")
        let total = try f.int("SELECT count(*) FROM order_events")
        #expect(h1.output?.rows == total)
        try f.importFeed(Self.feed(5..<6, status: "cancelled"))
        let h2 = try f.export(historyDef, to: "h2.csv")
        #expect(h2.output?.rows == (try f.int("SELECT count(*) FROM order_events")) - total && h2.output?.rows ?? 0 >= 1)
        #expect(csvRecords(try f.text("h2.csv")).allSatisfy { $0["external_ref"] == "R5" })

        // A filter applies to the rows that changed; a period is refused.
        ordersDef.statuses = ["cancelled"]
        let filtered = try f.export(ordersDef, to: "n4.csv")
        #expect(filtered.output?.rows == 1)
        var withPeriod = ordersDef
        withPeriod.from = PeriodBound("2026-10-01")
        #expect(throws: DefinitionError.self) { try withPeriod.validate() }
    }

    @Test func shipmentsAndTheirLinesCountAsChanges() throws {
        let f = try ExportFixture()
        try f.importFeed(Self.feed(0..<4, status: "processing"))
        let def = Self.incremental("nightly-shipments", .shipments)
        let none = try f.export(def, to: "s0.csv")
        #expect(none.output?.rows == 0)
        let id = try Self.orderId(f, "R1")
        let shipment = try #require(NewShipment(carrier: "UPS", trackingNumber: "1ZINC0001", lines: [ShipmentLine(lineNo: 1, quantity: 1)]))
        _ = try OrderRepository().addShipment(shipment, to: id, now: .now, on: f.conn)
        let added = try f.export(def, to: "s1.csv")
        let s1 = csvRecords(try f.text("s1.csv"))
        #expect(added.output?.rows == 1 && s1.first?["tracking_number"] == "1ZINC0001")
        // A line's quantity changing (as a tracking feed's line record does) changes the shipment.
        try f.conn.execute("UPDATE shipment_lines SET quantity = 2, change_xid = pg_current_xact_id()")
        let lines = try f.export(def, to: "s2.csv")
        let s2 = csvRecords(try f.text("s2.csv"))
        #expect(lines.output?.rows == 1 && s2.first?["units"] == "2")
        #expect(try f.export(def, to: "s3.csv").output?.rows == 0)
    }

    /// The issue's test: API writes and bulk runs go on while incremental exports run one after
    /// another; the union of the history files is the final history with each event once, and
    /// the last file an order is in holds its final row.
    @Test func writersRunningDuringASequenceOfExportsLoseNothingAndRepeatNothing() throws {
        let f = try ExportFixture()
        try f.importFeed(Self.feed(0..<1000, status: "processing"))
        let url = f.url
        let dir = f.dir
        let done = Atomic<Int>(0), apiWrites = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        // Bulk runs: each ships or delivers a slice, changes prices and adds new orders.
        DispatchQueue.global().async(group: group) {
            defer { done.add(1, ordering: .sequentiallyConsistent) }
            do {
                for round in 0..<12 {
                    let path = dir.appendingPathComponent("bulk\(round).csv").path
                    let csv = Self.feed((round * 80)..<(round * 80 + 100), status: round % 2 == 0 ? "shipped" : "delivered", price: "\(round + 2).00")
                        + Self.feed(0..<5, status: "processing", prefix: "N\(round)-").dropFirst(DatabaseFixture.ordersHeader.count)
                    try Data(csv.utf8).write(to: URL(fileURLWithPath: path))
                    // A run that sees an API write between its diff and its apply applies
                    // nothing and says to run it again, as a scheduler would.
                    for attempt in 1...30 {
                        do {
                            _ = try Self.bulkRun(url, path)
                            break
                        } catch where attempt < 30 && "\(error)".contains("run it again") {}
                    }
                }
            } catch { failures.withLock { $0.append("bulk: \(error)") } }
        }
        // The API's writes: status changes through the repository the routes call, one transaction each.
        DispatchQueue.global().async(group: group) {
            defer { done.add(1, ordering: .sequentiallyConsistent) }
            do {
                let conn = try PostgresConnection(url)
                let ids = try conn.query("SELECT id::text AS id FROM orders ORDER BY external_ref").rows.map { try $0.decode("id", as: String.self) }
                for (n, id) in (ids + ids).enumerated() where n % 3 == 0 {
                    let status: OrderStatus = n < ids.count ? .shipped : .cancelled
                    do {
                        _ = try OrderRepository().updateStatus(UUID(uuidString: id)!, to: status, now: .now, on: conn)
                        apiWrites.add(1, ordering: .relaxed)
                    } catch is OrderStoreError {
                        // An illegal transition (a bulk run got there first): not a write.
                    } catch let error as PostgresError where error.sqlState == "40P01" || error.sqlState == "55P03" {
                        // A deadlock or lock timeout against a bulk run: the client would retry.
                    }
                }
            } catch { failures.withLock { $0.append("api: \(error)") } }
        }
        let exportConn = try PostgresConnection(url)
        func export(_ dataset: ExportDefinition.Dataset, _ n: Int) throws -> String {
            let name = "\(dataset.rawValue)-\(n).csv"
            _ = try FinanceExport(definition: Self.incremental("concurrent", dataset))
                .run(on: exportConn, output: dir.appendingPathComponent(name).path, exportId: "inc-\(n)")
            return try f.text(name)
        }
        var historyFiles: [String] = [], orderFiles: [String] = []
        var n = 0
        while done.load(ordering: .sequentiallyConsistent) < 2 {
            historyFiles.append(try export(.history, n))
            orderFiles.append(try export(.orders, n))
            n += 1
        }
        group.wait()
        historyFiles.append(try export(.history, n))
        orderFiles.append(try export(.orders, n))
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        #expect(n >= 3, "the writers finished before a third export: the test proved little")
        #expect(apiWrites.load(ordering: .relaxed) > 100)

        // History: every event exactly once across the files, and nothing else.
        let exported = historyFiles.flatMap { csvRecords($0).map { $0["event_id"] ?? "" } }
        let final = try f.conn.query("SELECT id::text AS id FROM order_events ORDER BY id").rows.map { try $0.decode("id", as: String.self) }
        #expect(exported.count == final.count, "\(exported.count) events exported, \(final.count) in the history")
        #expect(Set(exported).count == exported.count, "an event is in two files")
        #expect(Set(exported) == Set(final))

        // Orders: the last file each order is in has its final row; a file never repeats a
        // version the one before already had.
        var latest: [String: [String: String]] = [:]
        for file in orderFiles {
            for row in csvRecords(file) {
                let id = row["order_id"] ?? ""
                #expect(latest[id] != row, "order \(row["external_ref"] ?? id) exported twice unchanged")
                latest[id] = row
            }
        }
        var full = ExportDefinition()
        full.dataset = .orders
        _ = try FinanceExport(definition: full).run(on: exportConn, output: dir.appendingPathComponent("full.csv").path, exportId: "full")
        let finalRows = csvRecords(try f.text("full.csv"))
        #expect(finalRows.count == latest.count)
        for row in finalRows { #expect(latest[row["order_id"] ?? ""] == row, "order \(row["external_ref"] ?? "") is not exported as it ended") }
    }

    /// docs/export.md's month: 30 nights of a bulk run, an API cancel or delete, and the two
    /// nightly exports (orders and history); night 12 is missed and night 20's export fails.
    /// Every event is in exactly one history file, every order's last file holds its final row.
    @Test func aMonthOfNightlyExportsHoldsEveryChangeOnce() throws {
        let f = try ExportFixture()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let orders = try ExportDefinition.load(path: root.appendingPathComponent("pipelines/finance-nightly.yaml").path)
        let history = try ExportDefinition.load(path: root.appendingPathComponent("pipelines/finance-nightly-history.yaml").path)
        try f.importFeed(Self.feed(0..<60, status: "processing"))
        var orderFiles: [String] = [], historyFiles: [String] = []
        var failed = 0
        for night in 1...30 {
            // The day's writes: a bulk run ships a slice and adds two orders; the API cancels or deletes one.
            let slice = ((night * 7) % 60)..<((night * 7) % 60 + 5)
            try f.importFeed(Self.feed(slice, status: night % 3 == 0 ? "delivered" : "shipped", price: "\(night).00")
                             + Self.feed(0..<2, status: "processing", prefix: "D\(night)-").dropFirst(DatabaseFixture.ordersHeader.count))
            let victim = try Self.orderId(f, "D\(night)-0")
            if night % 2 == 0 {
                _ = try OrderRepository().updateStatus(victim, to: .cancelled, now: .now, on: f.conn)
            } else {
                try OrderRepository().delete(victim, now: .now, on: f.conn)
            }
            if night == 12 { continue } // nobody ran the export that night
            let day = String(format: "2026-11-%02d", night)
            if night == 20 {
                // The export directory is gone: the export fails, and the next night catches up.
                #expect(throws: (any Error).self) { try f.export(orders, to: "missing/orders-\(day).csv.gz") }
                failed += 1
                continue
            }
            let o = try f.export(orders, to: "orders-\(day).csv.gz")
            let h = try f.export(history, to: "history-\(day).csv.gz")
            #expect(o.control?.matched == true && h.control?.matched == true)
            orderFiles.append("orders-\(day).csv.gz")
            historyFiles.append("history-\(day).csv.gz")
        }
        func rows(_ name: String) throws -> [[String: String]] {
            csvRecords(String(decoding: try TestProgram.run("/bin/zcat", [f.path(name)]).output, as: UTF8.self))
        }
        let events = try historyFiles.flatMap { try rows($0).map { $0["event_id"] ?? "" } }
        let all = try f.conn.query("SELECT id::text AS id FROM order_events").rows.map { try $0.decode("id", as: String.self) }
        #expect(events.count == all.count && Set(events) == Set(all), "\(events.count) exported events, \(all.count) in the history")
        let deletes = try historyFiles.flatMap { try rows($0).filter { $0["kind"] == "deleted" } }
        #expect(deletes.count == 15 && deletes.allSatisfy { $0["order_deleted"] == "true" })

        var latest: [String: [String: String]] = [:]
        for name in orderFiles { for row in try rows(name) { latest[row["order_id"] ?? ""] = row } }
        var full = ExportDefinition()
        full.dataset = .orders
        _ = try f.export(full, to: "full.csv")
        let final = csvRecords(try f.text("full.csv"))
        #expect(final.count == (try f.int("SELECT count(*) FROM orders")) && latest.count >= final.count)
        #expect(final.allSatisfy { latest[$0["order_id"] ?? ""] == $0 })
        #expect(try f.int("SELECT count(*) FROM export_runs WHERE pipeline = 'finance-nightly' AND status = 'exported'") == 2 * 28)
        #expect(try f.int("SELECT count(*) FROM export_runs WHERE pipeline = 'finance-nightly' AND status = 'failed'") == failed)
    }

    @Test func aFailedExportMovesNoCursorAndTheNextOneCatchesUp() throws {
        let f = try ExportFixture()
        try f.importFeed(Self.feed(0..<10, status: "processing"))
        let binary = try OrderflowBinary.path()
        func export(_ name: String, fault: String? = nil) throws -> ProgramOutput {
            var environment = ProcessInfo.processInfo.environment
            if let fault { environment["ORDERFLOW_FAULT_AT"] = fault }
            return try TestProgram.run(binary, ["export", "--dataset", "orders", "--incremental", "--database", f.url, "-o", f.path(name)],
                                       environment: environment)
        }
        #expect(try export("a.csv").status == 0)
        try f.importFeed(Self.feed(0..<4, status: "shipped"))
        // A night that fails: its file's figures do not match PostgreSQL's (a fault injected into
        // the summary), so there is no file, the ledger says failed, and the cursor stays.
        let bad = try export("b.csv", fault: "export: miscount")
        #expect(bad.status == 1 && bad.error.contains("differ from PostgreSQL"), "\(bad.error)")
        #expect(!FileManager.default.fileExists(atPath: f.path("b.csv")))
        // Killed after the ledger row and the file's bytes were written, before COMMIT: no file,
        // nothing in the ledger.
        let killed = try export("c.csv", fault: "export: commit")
        #expect(killed.status != 0 && !FileManager.default.fileExists(atPath: f.path("c.csv")))
        #expect(try f.int("SELECT count(*) FROM export_runs WHERE status = 'failed'") == 1)
        #expect(try f.int("SELECT count(*) FROM export_runs") == 2)
        #expect(try f.int("SELECT count(*) FROM export_files f JOIN export_runs r ON r.id = f.export_run_id WHERE r.status <> 'exported'") == 0)

        try f.importFeed(Self.feed(9..<10, status: "shipped"))
        #expect(try export("d.csv").status == 0)
        #expect(csvRecords(try f.text("d.csv")).map { $0["external_ref"] ?? "" }.sorted() == ["R0", "R1", "R2", "R3", "R9"])
        let report = try JSONDecoder().decode(ExportReport.self, from: Data(try f.bytes("d.csv.report.json")))
        let first = try JSONDecoder().decode(ExportReport.self, from: Data(try f.bytes("a.csv.report.json")))
        #expect(report.incremental?.sinceExport == first.ledgerId && report.incremental?.since == first.incremental?.until)
    }

    @Test func rerunWritesTheSameBytesAfterTheRowsMovedOn() throws {
        let f = try ExportFixture()
        try f.importFeed(Self.feed(0..<50, status: "processing"))
        let binary = try OrderflowBinary.path()
        let run = try TestProgram.run(binary, ["export", "--dataset", "lines", "--incremental", "--database", f.url, "-o", f.path("lines.csv.gz")])
        #expect(run.status == 0, "\(run.error)")
        let original = try f.bytes("lines.csv.gz")
        let report = try JSONDecoder().decode(ExportReport.self, from: Data(try f.bytes("lines.csv.gz.report.json")))
        let id = try #require(report.ledgerId)
        try f.importFeed(Self.feed(0..<50, status: "delivered", price: "9.99"))
        // A second export into the same directory keeps its own report.
        #expect(try TestProgram.run(binary, ["export", "--dataset", "orders", "--database", f.url, "-o", f.path("orders.csv")]).status == 0)
        #expect(try f.files().contains("orders.csv.report.md") && f.files().contains("lines.csv.gz.report.md"))

        let again = try TestProgram.run(binary, ["export", "--rerun", "\(id)", "--database", f.url, "-o", f.path("again.csv.gz")])
        #expect(again.status == 0, "\(again.error)")
        #expect(try f.bytes("again.csv.gz") == original)
        // Without -o it goes where it went; to standard output too.
        try FileManager.default.removeItem(atPath: f.path("lines.csv.gz"))
        #expect(try TestProgram.run(binary, ["export", "--rerun", "\(id)", "--database", f.url]).status == 0)
        #expect(try f.bytes("lines.csv.gz") == original)
        let piped = try TestProgram.run(binary, ["export", "--rerun", "\(id)", "--database", f.url, "-o", "-"])
        #expect(Array(piped.output) == original)
        #expect(try TestProgram.run(binary, ["export", "--rerun", "999999", "--database", f.url, "-o", f.path("x")]).status == 1)

        // The ledger lists both exports; `exports ID` prints the stored report.
        let list = try TestProgram.run(binary, ["exports", "--database", f.url, "--json"])
        let lines = String(decoding: list.output, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2 && lines.last?.contains("\"incremental\":true") == true && lines.last?.contains(report.output?.sha256 ?? "?") == true)
        let shown = try TestProgram.run(binary, ["exports", "\(id)", "--database", f.url])
        #expect(String(decoding: shown.output, as: UTF8.self).contains("## Control totals"))
    }

    @Test func controlTotalsAreInTheReportAndAMismatchFails() throws {
        var control = ControlTotals(keyedBy: "currency", rows: 2, groups: [.init(key: "USD", rows: 2, units: 3, total: "4.50")])
        var summary = ExportSummary()
        summary.rows = 2
        summary.byCurrencyStatus = [.init(currency: "USD", status: "delivered", orders: 2, units: 3, total: "4.5")]
        try control.check(summary, dataset: .orders)
        #expect(control.matched)
        summary.byCurrencyStatus[0].total = "4.51"
        var wrong = ControlTotals(keyedBy: "currency", rows: 2, groups: [.init(key: "USD", rows: 2, units: 3, total: "4.50")])
        #expect(throws: ExportError.self) { try wrong.check(summary, dataset: .orders) }
        #expect(!wrong.matched)
    }

    @Test func aSecondIncrementalExportOfThePipelineWaitsForNone() throws {
        let f = try ExportFixture()
        let holder = try PostgresConnection(f.url)
        try holder.query("SELECT pg_advisory_lock(\(Int32(0x6f66_6578)), hashtext(\("held" + "\u{1F}" + "orders")))")
        #expect(throws: ExportError.self) { try f.export(Self.incremental("held", .orders), to: "x.csv") }
        #expect(!FileManager.default.fileExists(atPath: f.path("x.csv")))
        #expect(try f.int("SELECT count(*) FROM export_runs WHERE pipeline = 'held' AND status = 'failed'") == 1)
    }
}
