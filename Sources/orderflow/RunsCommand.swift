import ArgumentParser
import Foundation
import OrderModel
import PostgresClient

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", abstract: "Past import runs, from the database.")
    @OptionGroup var db: DatabaseOptions
    @Argument(help: "A run id: print its stored report.") var id: Int64?
    @Option(help: "How many runs to list.") var limit = 20

    func run() throws {
        try failing {
            let conn = try db.connect()
            if let id {
                guard let row = try conn.query("SELECT report::text AS report FROM import_runs WHERE id = \(id)").first else {
                    note("no import run \(id)")
                    throw Exit.failed
                }
                print(row["report"] ?? "null")
                return
            }
            let rows = try conn.query("""
                SELECT id, pipeline, status, started_at, input_name, counts->>'created' AS created, counts->>'updated' AS updated,
                       counts->>'deleted' AS deleted, counts->>'mirrorDeleted' AS mirror, counts->>'recordsRejected' AS rejected
                FROM import_runs ORDER BY id DESC LIMIT \(limit)
                """)
            if rows.count == 0 { print("no import runs yet"); return }
            print("id    started                    pipeline              status    created  updated  deleted  rejected  input")
            for r in rows {
                let deleted = (Int(r["deleted"] ?? "") ?? 0) + (Int(r["mirror"] ?? "") ?? 0)
                print([pad(r["id"], 5), pad(r["started_at"].flatMap { Timestamp(rfc3339: $0)?.description }, 26), pad(r["pipeline"], 21),
                       pad(r["status"], 9), pad(r["created"], 8), pad(r["updated"], 8), pad(String(deleted), 8), pad(r["rejected"], 9),
                       r["input_name"] ?? ""].joined(separator: " "))
            }
        }
    }

    func pad(_ s: String?, _ n: Int) -> String {
        let s = s ?? "-"
        return s.count >= n ? s : s + String(repeating: " ", count: n - s.count)
    }
}
