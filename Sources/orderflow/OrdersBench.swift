import ArgumentParser
import Foundation
import OrderStore
import Pipeline
import SyntheticFeeds
import PostgresClient

/// The orders pipeline against its floor: `psql` COPY of the same final rows (orders, lines,
/// shipments) into the same schema.
struct OrdersBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders",
        abstract: "orderflow run on a generated order feed vs psql COPY of the same final rows (the floor).",
        discussion: """
            Each `orderflow run` is a child process, so its wall time and peak RSS are its own.
            Order: a warm-up run (whose result is dumped as the floor's input), then per round the
            floor and the timed CSV run (the medians are compared), a forced re-run of the same
            file (must write 0 rows), the NDJSON run.
            The benchmark empties the orders tables of the target database: use a scratch one.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "Orders to generate (about 2.2 line items each).") var orders = 1_000_000
    @Option(help: "Generator seed.") var seed: UInt64 = 42
    @Option(help: "Where generated feeds and dumps are kept.") var workDir = ".orderflow/bench"
    @Flag(help: "Skip the NDJSON run.") var skipNdjson = false
    @Option(help: "Rounds of floor + CSV run; the medians are compared (the machine's noise is ±15%).") var rounds = 1

    func run() throws {
        try failing {
            let setup = try BenchSetup(db, workDir: workDir)
            let (url, conn, dir) = (setup.url, setup.conn, setup.dir)
            let csv = try setup.ordersFeed(orders: orders, seed: seed)
            let ndjson = skipNdjson ? "" : try setup.ordersFeed(orders: orders, seed: seed, format: .ndjson)
            let pipeline = try setup.pipeline("bench-orders.yaml", "name: bench-orders\nkind: orders\nsource: legacy\nmode: upsert\nguards:\n  max_rejects: 0\n")
            let psql = try PsqlRunner(url: url)
            let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            func empty() throws {
                try conn.execute("TRUNCATE orders, order_items, order_events, import_runs, shipments, shipment_lines, shipment_events, held_events; CHECKPOINT")
            }
            func runOrderflow(_ input: String, label: String) throws -> Measured {
                let m = try Measured.run(me, ["run", pipeline, input, "--force", "--database", url,
                                              "--report-dir", dir.appendingPathComponent("report-\(label)").path])
                guard m.status == 0 else { throw ValidationError("orderflow run (\(label)) exited with \(m.status)") }
                note(String(format: "%@: %.2f s, peak RSS %.1f MB", label, m.seconds, Double(m.maxRSSKiB) / 1024))
                return m
            }

            try empty()
            _ = try runOrderflow(csv, label: "warm-up")
            let ordersDump = dir.appendingPathComponent("floor-orders.tsv").path
            let itemsDump = dir.appendingPathComponent("floor-items.tsv").path
            let shipmentsDump = dir.appendingPathComponent("floor-shipments.tsv").path
            try psql.run("\\copy orders TO '\(ordersDump)'")
            try psql.run("\\copy order_items TO '\(itemsDump)'")
            try psql.run("\\copy shipments TO '\(shipmentsDump)'")
            let lineRows = try conn.query("SELECT count(*) AS n FROM order_items").rows[0].decode("n", as: Int.self)

            var floors: [Double] = [], runs: [Measured] = []
            for round in 1...max(1, rounds) {
                try empty()
                floors.append(try Stopwatch.time {
                    try psql.run(["\\copy orders FROM '\(ordersDump)'", "\\copy order_items FROM '\(itemsDump)'",
                                  "\\copy shipments FROM '\(shipmentsDump)'"], singleTransaction: true)
                })
                note(String(format: "round %d: floor (psql COPY of the final rows): %.2f s", round, floors.last!))
                try empty()
                runs.append(try runOrderflow(csv, label: "csv"))
            }
            let floor = median(floors)
            let first = runs.sorted { $0.seconds < $1.seconds }[runs.count / 2]
            let eventsBefore = try conn.query("SELECT count(*) AS n FROM order_events").rows[0].decode("n", as: Int.self)
            let rerun = try runOrderflow(csv, label: "forced re-run")
            let report = try JSONDecoder().decode(RunReport.self, from: Data(contentsOf: dir.appendingPathComponent("report-forced re-run/report.json")))
            let written = report.counts.created + report.counts.updated + report.counts.deleted + report.counts.mirrorDeleted
            let eventsAfter = try conn.query("SELECT count(*) AS n FROM order_events").rows[0].decode("n", as: Int.self)

            var nd: Measured?
            if !skipNdjson {
                try empty()
                nd = try runOrderflow(ndjson, label: "ndjson")
            }

            print("orders pipeline, \(orders) orders / \(lineRows) line rows (gz CSV \(fileSize(csv) / 1_048_576) MiB), same run, same machine")
            let each = zip(runs, floors).map { String(format: "%.2f", $0.seconds / $1) }.joined(separator: ", ")
            print(String(format: "  floor   psql COPY of final rows        %8.2f s  (median of %d)", floor, floors.count))
            print(String(format: "  csv     orderflow run                  %8.2f s  %.2f× floor (target ≤ 1.25)  peak RSS %.1f MB  (per round: %@)",
                         first.seconds, first.seconds / floor, runs.map(\.mb).max() ?? 0, each))
            print(String(format: "  re-run  forced, %d rows written, %d events added %6.2f s  %.2f× first run (target ≤ 0.5)  peak RSS %.1f MB",
                         written, eventsAfter - eventsBefore, rerun.seconds, rerun.seconds / first.seconds, rerun.mb))
            if let nd {
                print(String(format: "  ndjson  orderflow run                  %8.2f s  %.2f× csv run (target ≤ 1.5)  peak RSS %.1f MB", nd.seconds, nd.seconds / first.seconds, nd.mb))
            }
        }
    }

    func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
    }
}

/// A child process's wall time and peak resident memory (from wait4's rusage).
struct Measured {
    var status: Int32
    var seconds: Double
    var maxRSSKiB: Int
    /// User + system CPU of the child and the children it waited for (psql's gzip).
    var cpuSeconds: Double = 0
    var mb: Double { Double(maxRSSKiB) / 1024 }

    static func run(_ executable: String, _ args: [String]) throws -> Measured {
        let argv = ([executable] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let start = DispatchTime.now().uptimeNanoseconds
        let rc = posix_spawn(&pid, executable, nil, nil, argv, environ)
        guard rc == 0 else { throw ValidationError("cannot start \(executable): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return Measured(status: code, seconds: seconds, maxRSSKiB: usage.ru_maxrss, cpuSeconds: cpu)
    }
}
