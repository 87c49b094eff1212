import ArgumentParser
import Export
import Foundation
import OrderStore
import PostgresClient
import Reports

/// `orderflow exports`: the export ledger, newest first, or one export's stored report.
struct ExportsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exports",
        abstract: "The export ledger: every export, its cursor range, file, SHA-256, rows and outcome.",
        discussion: """
            Every `orderflow export` is recorded (docs/export.md#the-export-ledger). `orderflow exports ID`
            prints the export's report.md from the report stored in the ledger; --json prints that report.
            `orderflow export --rerun ID` writes the file again.
            """)
    @OptionGroup var db: DatabaseOptions
    @Argument(help: "An export's ledger id: print its report.") var id: Int64?
    @Option(help: "How many exports to list, newest first.") var limit = 20
    @Option(help: "Only exports of this pipeline (its name:).") var pipeline: String?
    @Option(help: "Only exports older than this id (the next page).") var before: Int64?
    @Flag(help: "Print the stored report (one export) or one JSON object per line (a list).") var json = false

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        try failing {
            let conn = try db.connect(quiet: true)
            try Migrator().requireCurrent(conn)
            let ledger = ExportLedger(conn: conn)
            if let id {
                guard let report = try ledger.report(id) else {
                    note("no export \(id) in the ledger (orderflow exports lists them)")
                    throw Exit.failed
                }
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    print(String(decoding: try encoder.encode(report), as: UTF8.self))
                } else {
                    print(ExportReportWriter.markdown(report), terminator: "")
                }
                return
            }
            let entries = try ledger.entries(pipeline: pipeline, before: before, limit: limit)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                for e in entries { print(String(decoding: try encoder.encode(Line(e)), as: UTF8.self)) }
                return
            }
            if entries.isEmpty {
                print(pipeline == nil && before == nil ? "no exports yet" : "no exports match")
                return
            }
            print("id     started                   pipeline              dataset    kind         outcome    rows       sha256            file")
            for e in entries {
                let kind = e.incremental ? "incremental" : "period"
                let file = e.status == "exported" ? (e.outputPath ?? "-") : (e.message ?? "")
                print([pad("\(e.id)", 6), pad(e.startedAt, 25), pad(e.pipeline, 21), pad(e.dataset, 10), pad(kind, 12), pad(e.status, 10),
                       pad(e.rows.map(String.init), 10), pad(e.sha256.map { String($0.prefix(16)) }, 17), file].joined(separator: " "))
            }
            if entries.count == limit, let last = entries.last { print("(more: --before \(last.id))") }
        }
    }

    /// One ledger entry as a JSON line.
    struct Line: Encodable {
        var id: Int64, exportId: String, pipeline: String, dataset: String, format: String, incremental: Bool, outcome: String
        var message: String?, cursorFrom: String?, cursorTo: String?, outputPath: String?, rows: Int?, bytes: Int64?, sha256: String?
        var storedBytes: Int64, startedAt: String, finishedAt: String

        init(_ e: ExportLedger.Entry) {
            (id, exportId, pipeline, dataset, format, incremental, outcome) = (e.id, e.exportId, e.pipeline, e.dataset, e.format, e.incremental, e.status)
            (message, cursorFrom, cursorTo, outputPath, rows, bytes, sha256) = (e.message, e.cursorFrom, e.cursorTo, e.outputPath, e.rows, e.bytes, e.sha256)
            (storedBytes, startedAt, finishedAt) = (e.storedBytes, e.startedAt, e.finishedAt)
        }
    }
}
