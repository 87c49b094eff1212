import ArgumentParser
import EmbeddedPostgres
import Feeds
import Foundation
import OrderModel
import OrderStore
import Pipeline
import PostgresClient
import SyntheticFeeds

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks against the PostgreSQL floor, measured in the same run.",
        subcommands: [CopyBench.self, OrdersBench.self, TrackingBench.self, ExportBench.self, ReadBench.self, ConsoleBench.self])
}

/// COPY FROM STDIN through PostgresClient versus `psql \copy` of the same rows into the same table.
struct CopyBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "COPY of staging-shaped rows: PostgresClient vs psql \\copy (the floor).")

    @OptionGroup var db: DatabaseOptions
    @Option(help: "Rows to copy.") var rows = 2_000_000
    @Option(help: "Rounds; each round times both, alternating, and the median is reported.") var rounds = 3
    @Option(help: "Where the generated data file is kept.") var workDir = ".orderflow/bench"

    func run() throws {
        try failing {
            let url = try db.resolve()
            let conn = try PostgresConnection(url)
            try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
            let file = URL(fileURLWithPath: workDir).appendingPathComponent("staging-\(rows).tsv").standardizedFileURL
            if !FileManager.default.fileExists(atPath: file.path) {
                note("generating \(rows) staging rows into \(file.path)…")
                var generator = StagingRowGenerator(seed: 42)
                try generator.write(rows: rows, to: file)
            }
            let size = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
            // UNLOGGED like the pipeline's TEMP staging tables: neither writes WAL.
            try conn.execute("DROP TABLE IF EXISTS bench_copy_staging")
            try conn.execute("CREATE UNLOGGED TABLE bench_copy_staging (\(StagingRowGenerator.columnsSQL))")
            let psql = try PsqlRunner(url: url)

            var floor: [Double] = [], ours: [Double] = []
            for round in 1...rounds {
                try conn.execute("TRUNCATE bench_copy_staging")
                let f = try Stopwatch.time { try psql.run("\\copy bench_copy_staging FROM '\(file.path)'") }
                try check(conn)
                try conn.execute("TRUNCATE bench_copy_staging")
                let o = try Stopwatch.time { try copyFile(file, conn) }
                try check(conn)
                floor.append(f); ours.append(o)
                note(String(format: "round %d: psql \\copy %.3f s, PostgresClient %.3f s", round, f, o))
            }
            try conn.execute("DROP TABLE bench_copy_staging")
            let fm = median(floor), om = median(ours)
            print("COPY FROM STDIN, \(rows) staging rows (\(size / 1_048_576) MiB), median of \(rounds) rounds")
            print(String(format: "  floor  psql \\copy          %8.3f s  %10.0f rows/s", fm, Double(rows) / fm))
            print(String(format: "  ours   PostgresClient      %8.3f s  %10.0f rows/s", om, Double(rows) / om))
            print(String(format: "  ratio  ours / floor        %8.3f   (target ≤ 1.10)", om / fm))
        }
    }

    func copyFile(_ file: URL, _ conn: PostgresConnection) throws {
        let fd = open(file.path, O_RDONLY)
        guard fd >= 0 else { throw ValidationError("cannot open \(file.path)") }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        try conn.copyIn("COPY bench_copy_staging FROM STDIN") { w in
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                try chunk.withUnsafeBytes { try w.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
        }
    }

    func check(_ conn: PostgresConnection) throws {
        let n = try conn.query("SELECT count(*) AS n FROM bench_copy_staging").rows[0].decode("n", as: Int.self)
        guard n == rows else { throw ValidationError("expected \(rows) rows after COPY, found \(n)") }
    }
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.isEmpty ? 0 : s[s.count / 2]
}

/// Wall-clock timing of a block.
enum Stopwatch {
    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}

/// Runs `psql` against the benchmark database (the floor's tool).
struct PsqlRunner {
    let executable: URL
    let url: String

    init(url: String) throws {
        self.url = url
        let pathHit = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .map { "\($0)/psql" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        if let pathHit {
            executable = URL(fileURLWithPath: pathHit)
        } else {
            executable = try PostgresBinaries.locate().psql
        }
    }

    func run(_ command: String) throws {
        try run([command])
    }

    /// Runs the commands in one psql session (`-1`: and in one transaction).
    func run(_ commands: [String], singleTransaction: Bool = false) throws {
        let command = commands.joined(separator: "; ")
        let p = Process()
        p.executableURL = executable
        p.arguments = (url.isEmpty ? [] : [url]) + ["-X", "-q", "-v", "ON_ERROR_STOP=1"] + (singleTransaction ? ["-1"] : [])
            + commands.flatMap { ["-c", $0] }
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ValidationError("psql failed (exit \(p.terminationStatus)) running: \(command)") }
    }
}

/// Deterministic rows in the shape of the pipeline's line staging table.
struct StagingRowGenerator {
    static let columnsSQL = """
        line bigint, order_id uuid, source text, external_ref text, customer_id text, status text,
        currency char(3), created_at timestamptz, tracking_company text, tracking_number text,
        line_no integer, product_id text, quantity integer, unit_price numeric
        """
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func write(rows: Int, to file: URL) throws {
        createEmptyFile(atPath: file.path)
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        let statuses = ["processing", "shipped", "in_transit", "delivered", "cancelled"]
        let carriers = ["FedEx", "UPS", "DHL", "USPS"]
        var out = ""
        out.reserveCapacity(1 << 21)
        var line = 0, order = 0
        while line < rows {
            order += 1
            let items = 1 + Int(rng.next() % 3)
            let hi = rng.next(), lo = rng.next()
            let uuid = String(format: "%08x-%04x-7%03x-%04x-%012llx", UInt32(truncatingIfNeeded: hi >> 32), UInt16(truncatingIfNeeded: hi >> 16),
                              UInt16(truncatingIfNeeded: hi) & 0x0FFF, (UInt16(truncatingIfNeeded: lo >> 48) & 0x3FFF) | 0x8000, lo & 0xFFFF_FFFF_FFFF)
            let status = statuses[Int(rng.next() % UInt64(statuses.count))]
            let tracked = status != "processing"
            let day = 1 + Int(rng.next() % 28), sec = Int(rng.next() % 86_400)
            let created = String(format: "2026-10-%02dT%02d:%02d:%02d.%03dZ", day, sec / 3600, sec / 60 % 60, sec % 60, Int(rng.next() % 1000))
            for item in 1...items where line < rows {
                line += 1
                let price = Int(rng.next() % 100_000)
                out += "\(line)\t\(uuid)\tlegacy\tERP-\(order)\tcust-\(rng.next() % 50_000)\t\(status)\tUSD\t\(created)\t"
                out += tracked ? "\(carriers[order % 4])\t1Z\(rng.next() % 1_000_000_000_000)\t" : "\\N\t\\N\t"
                out += "\(item)\tSKU-\(rng.next() % 10_000)\t\(1 + rng.next() % 5)\t\(price / 100).\(String(format: "%02d", price % 100))\n"
                if out.utf8.count > 1 << 20 {
                    handle.write(Data(out.utf8))
                    out.removeAll(keepingCapacity: true)
                }
            }
        }
        handle.write(Data(out.utf8))
    }
}


/// The reader alone: parse, validate and encode a feed, no database (the client's share of a run).
struct ReadBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read", abstract: "Reader throughput on a feed, without a database.")
    @Argument(help: "Pipeline definition.") var pipeline: String
    @Argument(help: "Feed file.") var input: String

    func run() throws {
        try failing {
            let def = try PipelineDefinition.load(path: pipeline)
            var result = (records: 0, rejects: 0, stagedBytes: 0)
            let seconds = try Stopwatch.time { result = try FeedReadProbe.run(definition: def, path: input) }
            print(String(format: "%d records (%d rejected), %.1f MB staged in %.2f s: %.0f records/s", result.records, result.rejects,
                         Double(result.stagedBytes) / 1e6, seconds, Double(result.records) / seconds))
        }
    }
}

/// What every pipeline benchmark starts with: the target database, migrated, and its work folder.
struct BenchSetup {
    let url: String
    let conn: PostgresConnection
    let dir: URL

    init(_ db: DatabaseOptions, workDir: String) throws {
        url = try db.resolve()
        conn = try PostgresConnection(url)
        try conn.execute("SET client_min_messages = warning")
        try Migrator().migrate(conn)
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        dir = URL(fileURLWithPath: workDir).standardizedFileURL
    }

    /// The generated feed of `orders` orders from `seed`, kept in the work directory and made on
    /// first use (the same arguments always give the same bytes).
    func ordersFeed(orders: Int, seed: UInt64, format: OrderFeedGenerator.Format = .csv) throws -> String {
        let path = dir.appendingPathComponent("orders-\(orders)-\(seed).\(format == .ndjson ? "ndjson" : "csv").gz").path
        if !FileManager.default.fileExists(atPath: path) {
            note("generating \(orders) orders as \(format.rawValue) into \(path)…")
            _ = try OrderFeedGenerator(orders: orders, seed: seed).write(format, to: path, gzip: true)
        }
        return path
    }

    /// Writes a pipeline file into the work directory and returns its path.
    func pipeline(_ name: String, _ yaml: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}
