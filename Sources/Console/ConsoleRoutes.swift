import Export
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OrderAPI
import OrderModel
import OrderStore
import Pipeline
import PostgresClient
import Reports

/// The web console under `/console/` (docs/console.md): runs, order lookup, exports.
/// Read-only, server-rendered, behind the API's tokens through a login and a session cookie.
public struct ConsoleRoutes: APIMount {
    public let pathPrefix = "/console"
    let pool: PostgresConnectionPool
    let tokens: APITokens
    let sessions: ConsoleSessions
    /// Mark the session cookie `Secure` (the console is reached over HTTPS through a proxy).
    let secureCookie: Bool
    let now: @Sendable () -> Timestamp

    static let pageSize = 50

    public init(pool: PostgresConnectionPool, tokens: [String], sessions: ConsoleSessions = ConsoleSessions(), secureCookie: Bool = false,
                now: @escaping @Sendable () -> Timestamp = { Timestamp.now }) {
        self.pool = pool
        self.tokens = APITokens(tokens)
        self.sessions = sessions
        self.secureCookie = secureCookie
        self.now = now
    }

    public func add(to router: Router<BasicRequestContext>) {
        router.get("/console") { _, _ in Response.redirect(to: "/console/runs", type: .normal) }
        let group = router.group("/console").add(middleware: ConsoleGuard(tokens: tokens, sessions: sessions))
        group.get("/console.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=31536000, immutable"],
                     body: .init(byteBuffer: ByteBuffer(string: ConsolePages.stylesheet)))
        }
        group.get("/login") { request, _ in self.loginPage(request) }
        group.post("/login") { request, _ in try await self.login(request) }
        group.post("/logout") { request, _ in self.logout(request) }
        group.get("/runs") { request, _ in try await self.runs(request) }
        group.get("/runs/{id}") { _, context in try await self.run(context) }
        group.get("/runs/{id}/rejects/{n}") { _, context in try await self.rejects(context) }
        group.get("/exports") { request, _ in try await self.exports(request) }
        group.get("/exports/{id}") { _, context in try await self.export(context) }
        group.get("/exports/{id}/file") { _, context in try await self.exportFile(context) }
        group.get("/orders") { request, _ in try await self.lookup(request) }
        group.get("/orders/{id}") { _, context in try await self.order(context) }
        group.get("/**") { _, _ -> Response in throw ConsoleError.notFound("The console has no such page.") }
    }

    // MARK: Sign-in

    func loginPage(_ request: Request) -> Response {
        if tokens.isEmpty { return .redirect(to: "/console/runs", type: .normal) }
        let next = Self.safeNext(request.uri.queryParameters["next"].map(String.init))
        return Self.page(.ok, ConsolePages.render(ConsolePages.Login(
            chrome: Self.chrome(tokens, "", signedIn: false), next: next, error: nil,
            notice: request.uri.queryParameters["expired"] != nil ? "Your session ended; sign in again." : nil), "login"))
    }

    struct LoginForm: Decodable {
        var token: String?
        var next: String?
    }

    func login(_ request: Request) async throws -> Response {
        if tokens.isEmpty { return .redirect(to: "/console/runs", type: .normal) }
        var request = request
        let body = try await request.collectBody(upTo: 16 * 1024)
        let form = (try? URLEncodedFormDecoder().decode(LoginForm.self, from: String(buffer: body))) ?? LoginForm()
        let next = Self.safeNext(form.next)
        guard let token = form.token, tokens.accepts(token.utf8) else {
            return Self.page(.unauthorized, ConsolePages.render(ConsolePages.Login(
                chrome: Self.chrome(tokens, "", signedIn: false), next: next, error: "That token is not one the API accepts.", notice: nil), "login"))
        }
        var response = Response.redirect(to: next, type: .normal)
        response.setCookie(Cookie(name: ConsoleGuard.cookieName, value: sessions.open(), maxAge: Int(sessions.lifetime.components.seconds),
                                  path: "/console", secure: secureCookie, httpOnly: true, sameSite: .strict))
        return response
    }

    func logout(_ request: Request) -> Response {
        if let id = request.cookies[ConsoleGuard.cookieName]?.value { sessions.close(id) }
        var response = Response.redirect(to: "/console/login", type: .normal)
        response.setCookie(Cookie(name: ConsoleGuard.cookieName, value: "", maxAge: 0, path: "/console", secure: secureCookie,
                                  httpOnly: true, sameSite: .strict))
        return response
    }

    /// Only a path inside the console: anything else (another site, `//host`) would make the
    /// login an open redirect.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/console/"), !next.hasPrefix("//"), !next.contains("\\"),
              !next.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else { return "/console/runs" }
        return next
    }

    // MARK: Runs

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

    // MARK: Exports

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

    // MARK: Orders

    func lookup(_ request: Request) async throws -> Response {
        let text = (request.uri.queryParameters["q"].map(String.init) ?? "").trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else {
            return Self.page(.ok, ConsolePages.render(ConsolePages.Lookup(chrome: Self.chrome(tokens, "orders"), query: "", rows: [],
                                                                          searched: false, limited: false), "orders"))
        }
        let limit = Self.pageSize
        let orders = try await database { conn in
            let queries = ConsoleQueries(conn: conn)
            return try queries.readOnly { try queries.lookup(text, limit: limit + 1) }
        }
        if orders.count == 1 { return .redirect(to: "/console/orders/\(orders[0].id.postgresText)", type: .normal) }
        let rows = orders.prefix(limit).map { o in
            ConsolePages.Lookup.Row(href: "/console/orders/\(o.id.postgresText)", id: o.id.postgresText, source: o.source,
                                    externalRef: o.externalRef ?? "", customer: o.customerId, status: o.status.rawValue,
                                    created: ConsolePages.time(o.createdAt))
        }
        return Self.page(.ok, ConsolePages.render(ConsolePages.Lookup(chrome: Self.chrome(tokens, "orders"), query: text, rows: Array(rows),
                                                                      searched: true, limited: orders.count > limit), "orders"))
    }

    func order(_ context: BasicRequestContext) async throws -> Response {
        guard let text = context.parameters.get("id"), text.utf8.count == 36, let id = UUID(uuidString: text) else {
            throw ConsoleError.notFound("An order id is a UUID.")
        }
        let repository = OrderRepository()
        // The timeline reads in a snapshot of its own; an order deleted in between is not found.
        let found = try await database { conn -> (Order, [OrderHistoryEvent])? in
            guard let history = try repository.history(id, on: conn), let order = try repository.find(id, on: conn) else { return nil }
            return (order, history)
        }
        guard let (order, history) = found else { throw ConsoleError.notFound("There is no order \(text).") }
        let view = ConsolePages.OrderPage(
            chrome: Self.chrome(tokens, "orders"), id: order.id.postgresText, source: order.source, externalRef: order.externalRef ?? "",
            customer: order.customerId, status: order.status.rawValue, currency: order.currency ?? "",
            total: order.total.map(\.description) ?? "", created: ConsolePages.time(order.createdAt), updated: ConsolePages.time(order.updatedAt),
            lines: order.items.enumerated().map { i, item in
                .init(lineNo: i + 1, product: item.productId, quantity: item.quantity, unitPrice: item.unitPrice?.description ?? "")
            },
            shipments: order.shipments.map { s in
                .init(id: s.id, carrier: s.carrier, trackingNumber: s.trackingNumber, status: s.status?.rawValue ?? "",
                      shipped: ConsolePages.time(s.shippedAt), delivered: ConsolePages.time(s.deliveredAt), attempts: s.attempts,
                      exception: [s.exceptionCode, s.exceptionText].compactMap { $0 }.joined(separator: ": "),
                      lines: s.lines.map { "line \($0.lineNo) × \($0.quantity)" }.joined(separator: ", "), source: s.source)
            },
            events: history.map(Self.event))
        return Self.page(.ok, ConsolePages.render(view, "order"))
    }

    /// A timeline row: what happened, and who said so (a run links to its page).
    static func event(_ e: OrderHistoryEvent) -> ConsolePages.OrderPage.Event {
        let what: String, detail: String
        switch e.origin {
        case .order:
            what = e.kind.replacingOccurrences(of: "_", with: " ")
            var parts: [String] = []
            if e.fromStatus != nil || e.toStatus != nil { parts.append("\(e.fromStatus ?? "–") → \(e.toStatus ?? "–")") }
            if let number = e.trackingNumber { parts.append([e.carrier, number].compactMap { $0 }.joined(separator: " ")) }
            if let code = e.eventCode { parts.append(code) }
            if let text = e.text { parts.append(text) }
            detail = parts.joined(separator: "; ")
        case .carrier:
            what = "carrier scan"
            detail = [[e.carrier, e.trackingNumber].compactMap { $0 }.joined(separator: " "), e.eventCode, e.status, e.location, e.text]
                .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "; ")
        }
        let label: String, href: String?
        if let run = e.runId {
            label = "run \(run)"
            href = "/console/runs/\(run)"
        } else if e.source == OrderRepository.apiSource {
            label = "API request"
            href = nil
        } else {
            label = e.source ?? ""
            href = nil
        }
        return .init(at: ConsolePages.time(e.at), what: what, detail: detail, origin: e.origin.rawValue, sourceLabel: label, sourceHref: href)
    }

    // MARK: Pieces

    static func chrome(_ tokens: APITokens, _ section: String, signedIn: Bool = true) -> ConsolePages.Chrome {
        ConsolePages.Chrome(signedIn: signedIn, canSignOut: !tokens.isEmpty, section: section)
    }

    static func page(_ status: HTTPResponse.Status, _ html: String) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func id(_ context: BasicRequestContext) throws -> Int64 {
        guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw ConsoleError.notFound("Ids are numbers.") }
        return id
    }

    static func utcDay(_ t: Timestamp) -> Timestamp {
        Timestamp(microseconds: t.microseconds - ((t.microseconds % 86_400_000_000) + 86_400_000_000) % 86_400_000_000)
    }

    /// Streams a file as an attachment (NIO's file I/O: a large file is never in memory at once).
    static func download(_ path: String, context: BasicRequestContext, contentType: String) async throws -> Response {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ConsoleError.notFound("\((path as NSString).lastPathComponent) is no longer on this server's disk.")
        }
        let body = try await FileIO().loadFile(path: path, context: context)
        let name = (path as NSString).lastPathComponent.replacingOccurrences(of: "\"", with: "")
        let ascii = String(name.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? Character($0) : "_" })
        return Response(status: .ok, headers: [.contentType: contentType, .contentDisposition: "attachment; filename=\"\(ascii)\""], body: body)
    }

    func database<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await pool.withConnection(body)
    }
}
