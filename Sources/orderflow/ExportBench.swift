import ArgumentParser
import Feeds
import Foundation
import OrderStore
import Pipeline
import SyntheticFeeds
import PostgresClient
import Export
import Reports
import RunSupport

/// The finance export against its floor: `psql \copy (the same query) to program 'gzip -6'`.
struct ExportBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "orderflow export of N orders to gz CSV vs psql \\copy of the same query piped to gzip -6 (the floor).",
        discussion: """
            Imports a generated feed of --orders orders first (with `orderflow run`, once: the data is
            kept while the database holds exactly that many orders). Then, per round, the floor and
            `orderflow export` (a child process: its wall time and peak RSS are its own), alternating;
            medians are reported, and both files must decompress to the same bytes. Then, per round,
            `orderflow export --format xlsx` of the same period: its median, its ratio to the gz CSV
            export's median and its peak RSS; its row count must equal the CSV's.
            The benchmark empties the orders tables of its target database when it imports: use a scratch one.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "Orders to generate and import (about 2.2 line items each).") var orders = 1_000_000
    @Option(help: "Generator seed.") var seed: UInt64 = 42
    @Option(help: "Rounds (each times the floor and orderflow once).") var rounds = 3
    @Option(help: "Where generated feeds and export files are kept.") var workDir = ".orderflow/bench"

    func run() throws {
        try failing {
            let setup = try BenchSetup(db, workDir: workDir)
            let (url, conn, dir) = (setup.url, setup.conn, setup.dir)
            let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path

            let stored = try conn.query("SELECT count(*) AS n FROM orders").rows[0].decode("n", as: Int.self)
            let storedLines = try conn.query("SELECT count(*) AS n FROM order_items").rows[0].decode("n", as: Int.self)
            // Another bench's orders (tracking's have no lines) are not this bench's data.
            if stored != orders || storedLines < orders {
                let feed = try setup.ordersFeed(orders: orders, seed: seed)
                let pipeline = try setup.pipeline("bench-orders.yaml", "name: bench-orders\nkind: orders\nsource: legacy\nmode: upsert\nguards:\n  max_rejects: 0\n")
                try conn.execute("TRUNCATE orders, order_items, order_events, import_runs, shipments, shipment_lines, shipment_events, held_events")
                note("importing \(orders) orders with orderflow run…")
                let m = try Measured.run(me, ["run", pipeline, feed, "--force", "--database", url,
                                              "--report-dir", dir.appendingPathComponent("report-export-import").path])
                guard m.status == 0 else { throw ValidationError("orderflow run exited with \(m.status)") }
                // Separately: a multi-statement string is one implicit transaction, which VACUUM refuses.
                try conn.execute("VACUUM ANALYZE orders")
                try conn.execute("VACUUM ANALYZE order_items")
            }
            let lines = try conn.query("SELECT count(*) AS n FROM order_items").rows[0].decode("n", as: Int.self)

            var definition = ExportDefinition()
            definition.name = "bench-export"
            definition.from = PeriodBound("2026-10-01")
            definition.to = PeriodBound("2026-11-01")
            definition.gzip = true
            let query = ExportQuery(definition: definition, from: "2026-10-01T00:00:00.000000Z", to: "2026-11-01T00:00:00.000000Z")
            // The floor runs the very statement the export runs, its settings made the same way.
            let settings = "SELECT " + query.settings.map {
                "set_config(\(PostgresQuery.quoteLiteral($0.name)), \(PostgresQuery.quoteLiteral($0.value)), true)"
            }.joined(separator: ", ")
            let oneLine = query.selectSQL.split(whereSeparator: \.isNewline).joined(separator: " ")
            let floorFile = dir.appendingPathComponent("floor-export.csv.gz").path
            let oursFile = dir.appendingPathComponent("orderflow-export.csv.gz").path
            let copy = "\\copy (\(oneLine)) TO PROGRAM 'gzip -6 > \(floorFile)' WITH (FORMAT csv, HEADER true)"
            let psql = try PsqlRunner(url: url)

            // Both sides are started the same way (posix_spawn, in this process's session), so the
            // scheduler treats them alike: Foundation's Process would put psql in a session (and
            // so an autogroup, with its own CPU share) of its own.
            func floorRound() throws -> Measured {
                let m = try Measured.run(psql.executable.path, (url.isEmpty ? [] : [url])
                    + ["-X", "-q", "-o", "/dev/null", "-v", "ON_ERROR_STOP=1", "-1", "-c", settings, "-c", copy])
                guard m.status == 0 else { throw ValidationError("psql (the floor) exited with \(m.status)") }
                return m
            }
            func oursRound() throws -> Measured {
                let m = try Measured.run(me, ["export", "--dataset", "orders", "--from", "2026-10-01", "--to", "2026-11-01",
                                              "--format", "csv", "--gzip", "-o", oursFile, "--database", url,
                                              "--report-dir", dir.appendingPathComponent("report-export").path])
                guard m.status == 0 else { throw ValidationError("orderflow export exited with \(m.status)") }
                return m
            }
            note("warm-up (both, untimed)…")
            _ = try oursRound()
            _ = try floorRound()
            var floor: [Double] = [], ours: [Double] = [], ratios: [Double] = [], rss: [Int] = []
            var floorCPU: [Double] = [], oursCPU: [Double] = []
            for round in 1...rounds {
                // Alternate which goes first, so neither always meets a cache the other warmed.
                var fl = Measured(status: 0, seconds: 0, maxRSSKiB: 0)
                var o = Measured(status: 0, seconds: 0, maxRSSKiB: 0)
                if round % 2 == 1 {
                    fl = try floorRound(); o = try oursRound()
                } else {
                    o = try oursRound(); fl = try floorRound()
                }
                let f = fl.seconds
                floorCPU.append(fl.cpuSeconds); oursCPU.append(o.cpuSeconds)
                floor.append(f); ours.append(o.seconds); ratios.append(o.seconds / f); rss.append(o.maxRSSKiB)
                note(String(format: "round %d: floor %.2f s (client CPU %.2f s), orderflow export %.2f s (CPU %.2f s) = %.2f×, peak RSS %.1f MB",
                            round, f, fl.cpuSeconds, o.seconds, o.cpuSeconds, o.seconds / f, o.mb))
            }
            let same = try decompressedDigest(floorFile) == decompressedDigest(oursFile)
            guard same else { throw ValidationError("the floor's file and orderflow's differ after decompression") }
            let report = try JSONDecoder().decode(ExportReport.self, from: Data(contentsOf: dir.appendingPathComponent("report-export/report.json")))
            let fm = median(floor), om = median(ours)
            print("finance export, \(orders) orders / \(lines) line rows → gz CSV (\(report.output?.rows ?? 0) rows, \(fileSize(oursFile) / 1_048_576) MiB), median of \(rounds) rounds, same run, same machine")
            print(String(format: "  floor   psql \\copy (same query) to program 'gzip -6'  %8.2f s", fm))
            print(String(format: "  ours    orderflow export --gzip                      %8.2f s  %.2f× floor (target ≤ 1.0)  peak RSS %.1f MB (max of rounds; target ≤ 100)",
                         om, om / fm, Double(rss.max() ?? 0) / 1024))
            print(String(format: "  ratio per round (same round's floor): median %.2f×, min %.2f×, max %.2f×", median(ratios), ratios.min() ?? 0, ratios.max() ?? 0))
            print(String(format: "  client CPU (user+sys, median): floor psql + gzip %.2f s, orderflow export %.2f s", median(floorCPU), median(oursCPU)))
            print("  files decompress to the same bytes: \(same ? "yes" : "no")")
            let stages = report.stages.filter { ["control totals", "ledger"].contains($0.name) }
            print("  of orderflow's time: " + stages.map { String(format: "%@ %.2f s", $0.name, $0.seconds) }.joined(separator: ", ")
                  + " (the ledger keeps the file's \(fileSize(oursFile) / 1_048_576) MiB)")
            try xlsxRounds(me: me, url: url, dir: dir, csvMedian: om, csvRows: report.output?.rows ?? 0)
            try incrementalRounds(setup, me: me, fullMedian: om)
        }
    }

    /// A night's changes, 1% of the orders, exported incrementally: its time against the full
    /// export's median, and its rows checked to be exactly the orders changed.
    func incrementalRounds(_ setup: BenchSetup, me: String, fullMedian: Double) throws {
        let (url, conn, dir) = (setup.url, setup.conn, setup.dir)
        let pipeline = try setup.pipeline("bench-incremental.yaml", "name: bench-incremental\nkind: export\ndataset: orders\nincremental: true\n")
        let file = dir.appendingPathComponent("incremental.csv.gz").path
        func export() throws -> (Measured, ExportReport) {
            let m = try Measured.run(me, ["export", pipeline, "--gzip", "-o", file, "--database", url])
            guard m.status == 0 else { throw ValidationError("orderflow export --incremental exited with \(m.status)") }
            return (m, try JSONDecoder().decode(ExportReport.self, from: Data(contentsOf: URL(fileURLWithPath: file + ".report.json"))))
        }
        note("incremental: a first export takes everything and sets the cursor (untimed)…")
        _ = try export()
        let changed = orders / 100
        var times: [Double] = []
        for round in 1...rounds {
            // The night: 1% of the orders change (the trigger stamps them, as any writer's change is).
            try conn.query("""
                UPDATE orders SET customer_id = customer_id || '', updated_at = now()
                WHERE id IN (SELECT id FROM orders ORDER BY md5(id::text || \("\(round)")) LIMIT \(changed))
                """)
            let (m, report) = try export()
            guard report.output?.rows == changed, report.control?.matched == true else {
                throw ValidationError("the incremental export wrote \(report.output?.rows ?? -1) rows; \(changed) orders changed")
            }
            times.append(m.seconds)
            note(String(format: "incremental round %d: %d changed orders in %.2f s = %.3f× the full export's median, peak RSS %.1f MB",
                        round, changed, m.seconds, m.seconds / fullMedian, m.mb))
        }
        print(String(format: "  incremental (1%% = %d orders changed, checked): median %.2f s = %.3f× the full export (target ≤ 0.1); rounds %@",
                     changed, median(times), median(times) / fullMedian, times.map { String(format: "%.2f", $0) }.joined(separator: ", ")))

    }
    /// `orderflow export --format xlsx` of the same period, per round after the CSV rounds: its
    /// median time, the ratio to the CSV export's median and its peak RSS; its rows must be the CSV's.
    func xlsxRounds(me: String, url: String, dir: URL, csvMedian: Double, csvRows: Int) throws {
        let file = dir.appendingPathComponent("orderflow-export.xlsx").path
        let reportDir = dir.appendingPathComponent("report-export-xlsx")
        var times: [Double] = [], rss: [Int] = []
        for round in 1...rounds {
            let m = try Measured.run(me, ["export", "--dataset", "orders", "--from", "2026-10-01", "--to", "2026-11-01",
                                          "--format", "xlsx", "-o", file, "--database", url, "--report-dir", reportDir.path])
            guard m.status == 0 else { throw ValidationError("orderflow export --format xlsx exited with \(m.status)") }
            times.append(m.seconds); rss.append(m.maxRSSKiB)
            note(String(format: "xlsx round %d: orderflow export --format xlsx %.2f s (CPU %.2f s) = %.2f× the CSV median, peak RSS %.1f MB",
                        round, m.seconds, m.cpuSeconds, m.seconds / csvMedian, m.mb))
        }
        let report = try JSONDecoder().decode(ExportReport.self, from: Data(contentsOf: reportDir.appendingPathComponent("report.json")))
        let rows = report.output?.rows ?? -1
        guard rows == csvRows else { throw ValidationError("the xlsx export has \(rows) rows, the CSV export \(csvRows)") }
        let xm = median(times)
        print(String(format: "  xlsx    orderflow export --format xlsx               %8.2f s  %.2f× orderflow's gz CSV  peak RSS %.1f MB (max of rounds; target ≤ 100)",
                     xm, xm / csvMedian, Double(rss.max() ?? 0) / 1024))
        print("  xlsx rows equal the CSV's: \(rows) (\(fileSize(file) / 1_048_576) MiB)")
    }

    func decompressedDigest(_ path: String) throws -> String {
        let decoder = try GzipDecoder(path: path, limits: .unlimited)
        return try ContentHash.sha256Hex { try decoder.read(into: $0) }
    }

    func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
    }
}
