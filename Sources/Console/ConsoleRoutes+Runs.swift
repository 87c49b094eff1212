import Export
import Foundation
import HTTPTypes
import Hummingbird
import OrderModel
import OrderStore
import Pipeline
import PostgresClient
import Reports

// The runs page (both histories, the 30 nights) and a run's page with its rejects files.
extension ConsoleRoutes {
    func runs(_ request: Request) async throws -> Response {
        let q = request.uri.queryParameters
        func value(_ name: String) -> String? { q[Substring(name)].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
        var filter = ConsoleQueries.RunFilter(pipeline: value("pipeline"), outcome: value("outcome"), kind: value("kind"),
                                              fromDay: value("from"), toDay: value("to"))
        for day in [filter.fromDay, filter.toDay].compactMap({ $0 }) where Timestamp(rfc3339: day + "T00:00:00Z") == nil {
            throw ConsoleError(status: .badRequest, title: "Not a date", message: "\(day) is not a date (YYYY-MM-DD).")
        }
        if let kind = filter.kind, !Self.kinds.contains(kind) { filter.kind = nil }
        let cursor = try value("before").map { text in
            guard let c = ConsoleQueries.RunCursor(text) else {
                throw ConsoleError(status: .badRequest, title: "Not a page", message: "That page position is not one the console wrote.")
            }
            return c
        }
        let today = Self.utcDay(now())
        let since = Timestamp(microseconds: today.microseconds - 29 * 86_400_000_000)
        let chartFilter = filter.pipeline, chosen = filter
        let (page, pipelines, nights) = try await database { conn in
            let queries = ConsoleQueries(conn: conn)
            return try queries.readOnly {
                (try queries.runs(chosen, after: cursor, limit: Self.pageSize), try queries.pipelines(),
                 try queries.nights(since: since, pipeline: chartFilter))
            }
        }
        let rows = page.rows.map { r in
            ConsolePages.Runs.Row(
                href: r.type == .run ? "/console/runs/\(r.id)" : "/console/exports/\(r.id)",
                key: "\(r.type.rawValue).\(r.id)", started: ConsolePages.time(r.startedAt), pipeline: r.pipeline, kind: r.kind,
                status: r.status, inputs: Self.fileNames(r.inputs), inputsFull: r.inputs, records: ConsolePages.number(r.records), rejected: ConsolePages.number(r.rejected),
                created: ConsolePages.number(r.created), updated: ConsolePages.number(r.updated), deleted: ConsolePages.number(r.deleted),
                duration: ConsolePages.duration(r.seconds), message: r.message)
        }
        var base = URLComponents()
        base.path = "/console/runs"
        let kept = [("pipeline", filter.pipeline), ("outcome", filter.outcome), ("kind", filter.kind), ("from", filter.fromDay), ("to", filter.toDay)]
            .compactMap { name, v in v.map { URLQueryItem(name: name, value: $0) } }
        base.queryItems = kept.isEmpty ? nil : kept
        let newest = cursor == nil ? nil : base.string
        var olderLink: String?
        if page.more, let last = page.rows.last {
            var older = base
            older.queryItems = kept + [URLQueryItem(name: "before", value: last.cursor.text)]
            olderLink = older.string
        }
        let view = ConsolePages.Runs(
            chrome: Self.chrome(tokens, "runs"),
            pipelines: pipelines.map { .init(value: $0, label: $0, selected: $0 == filter.pipeline) },
            outcomes: Self.outcomes.map { .init(value: $0, label: $0, selected: $0 == filter.outcome) },
            kinds: Self.kinds.map { .init(value: $0, label: $0, selected: $0 == filter.kind) },
            fromDay: filter.fromDay ?? "", toDay: filter.toDay ?? "",
            charts: Self.charts(nights, since: since), sinceDay: String(since.description.prefix(10)),
            rows: rows, older: olderLink, newest: newest)
        return Self.page(.ok, ConsolePages.render(view, "runs"))
    }

    static let outcomes = ["applied", "exported", "dry_run", "skipped", "aborted", "failed", "cancelled", "running"]
    static let kinds = ["orders", "tracking", "shipments", "export"]

    /// One small chart per pipeline and figure, a column per UTC day of the 30, zero where none ran.
    static func charts(_ nights: [ConsoleQueries.Night], since: Timestamp) -> [ConsolePages.Runs.Chart] {
        let days = (0..<30).map { String(Timestamp(microseconds: since.microseconds + Int64($0) * 86_400_000_000).description.prefix(10)) }
        let compact = Self.compact
        return Dictionary(grouping: nights, by: \.pipeline).sorted { $0.key < $1.key }.map { pipeline, nights in
            let byDay = Dictionary(uniqueKeysWithValues: nights.map { ($0.day, $0) })
            func series(_ value: (ConsoleQueries.Night) -> Double) -> [(label: String, value: Double)] {
                days.map { day in (label: day, value: byDay[day].map(value) ?? 0) }
            }
            return ConsolePages.Runs.Chart(
                pipeline: pipeline,
                records: HTMLReport.smallColumnChart(series { Double($0.records) }, format: compact, color: "#2e86de"),
                rejected: HTMLReport.smallColumnChart(series { Double($0.rejected) }, format: compact, color: "#c0392b"),
                duration: HTMLReport.smallColumnChart(series { $0.seconds }, format: { $0 >= 10 ? String(format: "%.0f s", $0) : String(format: "%.1f s", $0) },
                                                      color: "#8e44ad"),
                totalRecords: nights.reduce(0) { $0 + $1.records }, totalRejected: nights.reduce(0) { $0 + $1.rejected }, nights: nights.count)
        }
    }

    /// A chart's scale in the width of a few digits: 950, 12k, 6.1M.
    static func compact(_ value: Double) -> String {
        if value >= 1e6 { return String(format: "%.1fM", value / 1e6) }
        if value >= 1e4 { return String(format: "%.0fk", value / 1e3) }
        return String(Int(value))
    }

    func run(_ context: BasicRequestContext) async throws -> Response {
        let id = try Self.id(context)
        guard let detail = try await database({ conn in try ConsoleQueries(conn: conn).run(id) }) else {
            throw ConsoleError.notFound("There is no run \(id) in the run history.")
        }
        var downloads: [ConsolePages.RunPage.Download] = [], missing: [String] = []
        for (n, path) in Self.rejectsFiles(detail.report).enumerated() {
            if FileManager.default.isReadableFile(atPath: path) {
                downloads.append(.init(href: "/console/runs/\(id)/rejects/\(n)", name: (path as NSString).lastPathComponent))
            } else {
                missing.append(path)
            }
        }
        let title = "Run \(id) of \(detail.pipeline)"
        let view = ConsolePages.RunPage(
            chrome: Self.chrome(tokens, "runs"), title: title, body: detail.report.map(HTMLReport.runBody),
            summary: detail.report != nil ? nil : "\(detail.kind) run, \(detail.status), started \(ConsolePages.time(detail.startedAt)); inputs \(detail.inputs). "
                + (detail.unreadable.map { "Its stored report cannot be read: \($0)" } ?? "Its report is stored when it ends."),
            downloads: downloads, missing: missing)
        return Self.page(.ok, ConsolePages.render(view, "run"))
    }

    /// `a/b/x.csv.gz, c/y.csv` → `x.csv.gz, y.csv`: the list shows names, the run's page the paths.
    static func fileNames(_ inputs: String) -> String {
        inputs.components(separatedBy: ", ").map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")
    }

    /// The rejects files a report names (one per input, comma-separated in `rejectsFile`).
    static func rejectsFiles(_ report: RunReport?) -> [String] {
        guard let text = report?.rejectsFile, !text.isEmpty else { return [] }
        return text.components(separatedBy: ", ")
    }

    func rejects(_ context: BasicRequestContext) async throws -> Response {
        let id = try Self.id(context)
        guard let n = context.parameters.get("n").flatMap(Int.init) else { throw ConsoleError.notFound("No such rejects file.") }
        let detail = try await database { conn in try ConsoleQueries(conn: conn).run(id) }
        let files = Self.rejectsFiles(detail?.report)
        // Only a path the stored report names is ever read: the URL carries an index, not a path.
        guard files.indices.contains(n) else { throw ConsoleError.notFound("Run \(id) has no rejects file \(n).") }
        return try await Self.download(files[n], context: context, contentType: files[n].hasSuffix(".ndjson") ? "application/x-ndjson" : "text/csv")
    }
}
