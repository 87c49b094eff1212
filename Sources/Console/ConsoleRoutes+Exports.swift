import Export
import Foundation
import HTTPTypes
import Hummingbird
import OrderModel
import OrderStore
import Pipeline
import PostgresClient
import Reports

// The export ledger and an export's page and file.
extension ConsoleRoutes {
    func exports(_ request: Request) async throws -> Response {
        let q = request.uri.queryParameters
        let pipeline = q["pipeline"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let before = q["before"].flatMap { Int64(String($0)) }
        let (page, pipelines) = try await database { conn in
            let queries = ConsoleQueries(conn: conn)
            return try queries.readOnly {
                (try queries.exports(pipeline: pipeline, before: before, limit: Self.pageSize),
                 try conn.query("SELECT DISTINCT pipeline FROM export_runs ORDER BY 1").rows.map { try $0.decode("pipeline", as: String.self) })
            }
        }
        let rows = page.rows.map { r in
            ConsolePages.Exports.Row(
                href: "/console/exports/\(r.entry.id)", key: "export.\(r.entry.id)", id: r.entry.id,
                finished: String(r.entry.finishedAt.prefix(19)).replacingOccurrences(of: "T", with: " "),
                pipeline: r.entry.pipeline, dataset: r.entry.dataset, format: r.entry.format, status: r.entry.status,
                rows: ConsolePages.number(r.entry.rows), bytes: r.entry.bytes.map(String.init) ?? "", sha256: r.entry.sha256 ?? "",
                totals: ConsolePages.totals(r.totals))
        }
        let suffix = pipeline.map { "pipeline=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") }
        let older = page.more ? page.rows.last.map { "/console/exports?" + (suffix.map { $0 + "&" } ?? "") + "before=\($0.entry.id)" } : nil
        let view = ConsolePages.Exports(
            chrome: Self.chrome(tokens, "exports"),
            pipelines: pipelines.map { .init(value: $0, label: $0, selected: $0 == pipeline) }, rows: rows, older: older,
            newest: before == nil ? nil : "/console/exports" + (suffix.map { "?" + $0 } ?? ""))
        return Self.page(.ok, ConsolePages.render(view, "exports"))
    }

    func export(_ context: BasicRequestContext) async throws -> Response {
        let id = try Self.id(context)
        let found = try await database { conn -> (ExportLedger.Entry, Result<ExportReport?, any Error>)? in
            let ledger = ExportLedger(conn: conn), queries = ConsoleQueries(conn: conn)
            return try queries.readOnly {
                guard let entry = try ledger.entry(id) else { return nil }
                return (entry, Result { try ledger.report(id) })
            }
        }
        guard let (entry, stored) = found else { throw ConsoleError.notFound("There is no export \(id) in the export ledger.") }
        let body: String
        switch stored {
        case let .success(report?): body = HTMLReport.exportBody(report)
        case .success(nil): body = ""
        case let .failure(error): body = "<p class=\"notice\">" + HTMLText.escaped("Its stored report cannot be read: \(error)") + "</p>"
        }
        let onDisk = Self.fileOnDisk(entry)
        let name = entry.outputPath.map { ($0 as NSString).lastPathComponent } ?? "export \(id)"
        let missing: String? = onDisk != nil || entry.status != "exported" ? nil
            : "The file \(entry.outputPath ?? "(written to standard output)") is no longer on this server's disk as exported."
        let view = ConsolePages.ExportPage(
            chrome: Self.chrome(tokens, "exports"), title: "Export \(id) of \(entry.pipeline)", body: body,
            download: onDisk == nil ? nil : "/console/exports/\(id)/file", downloadName: name, missing: missing, id: id)
        return Self.page(.ok, ConsolePages.render(view, "export"))
    }

    /// The exported file's path when it is still there with the ledger's size (a later file of
    /// the same name, or a truncated one, is not offered as this export).
    static func fileOnDisk(_ entry: ExportLedger.Entry) -> String? {
        guard entry.status == "exported", let path = entry.outputPath, let bytes = entry.bytes,
              let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber,
              size.int64Value == bytes else { return nil }
        return path
    }

    func exportFile(_ context: BasicRequestContext) async throws -> Response {
        let id = try Self.id(context)
        guard let entry = try await database({ conn in try ExportLedger(conn: conn).entry(id) }) else {
            throw ConsoleError.notFound("There is no export \(id) in the export ledger.")
        }
        guard let path = Self.fileOnDisk(entry) else {
            throw ConsoleError.notFound("Export \(id)'s file is no longer on this server's disk; orderflow export --rerun \(id) -o FILE writes it again.")
        }
        let type = entry.format == "xlsx" ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            : path.hasSuffix(".gz") ? "application/gzip" : entry.format == "ndjson" ? "application/x-ndjson" : "text/csv"
        return try await Self.download(path, context: context, contentType: type)
    }
}
