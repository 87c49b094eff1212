import ArgumentParser
import Foundation
import OrderModel
import Pipeline
import PostgresClient
import Reports

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "The run history: every import run and how it ended, from the database.",
        discussion: """
            Every run is recorded, whatever its outcome: applied, dry_run, skipped, aborted, failed
            or cancelled (docs/operations.md). `orderflow runs ID` prints what the run's report.md
            says, from the report stored in the database; --json prints that stored report.
            """)
    @OptionGroup var db: DatabaseOptions
    @Argument(help: "A run id: print its report.") var id: Int64?
    @Option(help: "How many runs to list, newest first.") var limit = 20
    @Option(help: "Only runs of this pipeline (its name:).") var pipeline: String?
    @Option(help: "Only runs with this outcome: \(Self.outcomes.joined(separator: ", ")).") var outcome: String?
    @Option(help: "Only runs older than this id (the next page of a long list).") var before: Int64?
    @Flag(help: "Print the stored report (one run) or one JSON object per line (a list).") var json = false

    static let outcomes = RunReport.Outcome.allCases.map(\.rawValue)

    func validate() throws {
        if let outcome, !Self.outcomes.contains(outcome) {
            throw ValidationError("--outcome must be one of \(Self.outcomes.joined(separator: ", "))")
        }
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        try failing {
            let conn = try db.connect(quiet: true)
            if let id { try show(id, conn) } else { try list(conn) }
        }
    }

    func show(_ id: Int64, _ conn: PostgresConnection) throws {
        guard let row = try conn.query("SELECT report::text AS report, status, report_path FROM import_runs WHERE id = \(id)").first else {
            note("no run \(id) in the history (orderflow runs lists them)")
            throw Exit.failed
        }
        guard let text = row["report"] else {
            note("run \(id) (\(row["status"] ?? "?")) has no stored report")
            throw Exit.failed
        }
        if json {
            print(text)
            return
        }
        let report = try JSONDecoder().decode(RunReport.self, from: Data(text.utf8))
        print(ReportWriter.markdown(report), terminator: "")
        if let path = row["report_path"] { print("\nReport files: \(path)") }
    }

    func list(_ conn: PostgresConnection) throws {
        // Keyset pages on the primary key: a long history costs what one page costs.
        let rows = try conn.query("""
            SELECT id, pipeline, kind, status, started_at, finished_at, input_name, message, report_path,
                   extract(epoch FROM finished_at - started_at) AS seconds,
                   counts->>'created' AS created, counts->>'updated' AS updated, counts->>'deleted' AS deleted,
                   counts->>'mirrorDeleted' AS mirror, counts->>'recordsRead' AS read, counts->>'recordsRejected' AS rejected,
                   report->'tracking'->>'statusChanged' AS status_changed
            FROM import_runs
            WHERE (\(pipeline)::text IS NULL OR pipeline = \(pipeline))
              AND (\(outcome)::text IS NULL OR status = \(outcome))
              AND (\(before)::bigint IS NULL OR id < \(before))
            ORDER BY id DESC LIMIT \(limit)
            """)
        if json {
            for r in rows {
                var object: [String: String] = [:]
                for key in ["id", "pipeline", "kind", "status", "started_at", "finished_at", "input_name", "message", "report_path"] {
                    if let value = r[key] { object[key == "status" ? "outcome" : key] = value }
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(object), as: UTF8.self))
            }
            return
        }
        if rows.count == 0 {
            print(pipeline == nil && outcome == nil && before == nil ? "no runs yet" : "no runs match")
            return
        }
        print("id     started                    pipeline              outcome    seconds  read      changes   rejected  input / why")
        for r in rows {
            let changes = r["status_changed"].flatMap { Int($0) }
                ?? [r["created"], r["updated"], r["deleted"], r["mirror"]].reduce(0) { $0 + (Int($1 ?? "") ?? 0) }
            let seconds = r["seconds"].flatMap(Double.init).map { String(format: "%.1f", $0) }
            let outcome = r["status"] ?? "?"
            let why = ["applied", "dry_run"].contains(outcome) ? (r["input_name"] ?? "") : "\(r["input_name"] ?? ""): \(r["message"] ?? "")"
            print([pad(r["id"], 6), pad(r["started_at"].flatMap { Timestamp(rfc3339: $0)?.description }, 26), pad(r["pipeline"], 21),
                   pad(outcome, 10), pad(seconds, 8), pad(r["read"], 9), pad(String(changes), 9), pad(r["rejected"], 9),
                   why].joined(separator: " "))
        }
        if rows.count == limit, let last = rows.rows.last?["id"] { print("(more: --before \(last))") }
    }
}

/// A cell of a listing's fixed-width column (`-` for none).
func pad(_ s: String?, _ n: Int) -> String {
    let s = s ?? "-"
    return s.count >= n ? s : s + String(repeating: " ", count: n - s.count)
}
