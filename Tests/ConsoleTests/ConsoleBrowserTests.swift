import Foundation
import OrderAPI
import OrderflowTestSupport
import PostgresClient
import Testing

/// The console in a real browser (headless Chromium over the DevTools protocol), served by the
/// real `orderflow serve` over a database filled by real runs of the real binary.
@Suite("console in headless Chromium", .serialized)
struct ConsoleBrowserTests {
    static let token = "console-test-token-7f3a"
    static let hostileRef = "<script>document.title='owned'</script>"
    static let formulaRef = "=HYPERLINK(\"http://evil.example\",\"click\")"

    @Test func everyPageRendersShowsTheDatabasesFiguresAndIsReachableByKeyboard() throws {
        let chromium = try Chromium.locate()
        let f = try DatabaseFixture(prefix: "of-console")
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        func run(_ args: [String]) throws -> ProgramOutput {
            try TestProgram.run(try OrderflowBinary.path(), args + ["--database", f.url])
        }
        let pipelines = repo.appendingPathComponent("pipelines").path, samples = repo.appendingPathComponent("samples").path
        // Real runs of every kind and outcome.
        #expect(try run(["run", "\(pipelines)/orders-upsert.yaml", "\(samples)/legacy-orders.csv.gz", "--report-dir", f.path("r1")]).status == 0)
        let hostile = try f.file("hostile.csv", DatabaseFixture.ordersHeader + """
            "\(Self.hostileRef.replacingOccurrences(of: "\"", with: "\"\""))",c-x,shipped,USD,2026-11-02T10:00:00Z,UPS,1ZHOSTILE1,p-1,2,9.99
            "\(Self.formulaRef.replacingOccurrences(of: "\"", with: "\"\""))",c-y,processing,EUR,2026-11-02T11:00:00Z,,,p-2,1,5.00

            """)
        #expect(try run(["run", "\(pipelines)/orders-upsert.yaml", hostile, "--report-dir", f.path("r2")]).status == 0)
        let rejecting = try f.file("rejecting.csv", DatabaseFixture.ordersHeader + """
            R-1,c1,processing,USD,2026-11-03T10:00:00Z,,,p1,1,1.00
            R-2,c2,bogus,USD,2026-11-03T10:00:00Z,,,p2,1,1.00

            """)
        #expect(try run(["run", "\(pipelines)/orders-upsert.yaml", rejecting, "--report-dir", f.path("r3")]).status == 3)
        #expect(try run(["run", "\(pipelines)/tracking-ups.yaml", "\(samples)/tracking/ups.csv.gz", "--report-dir", f.path("r4")]).status == 0)
        #expect(try run(["run", "\(pipelines)/orders-upsert.yaml", "\(samples)/broken/truncated.csv.gz", "--report-dir", f.path("r5")]).status == 1)
        #expect(try run(["export", "--dataset", "orders", "-o", f.path("orders.csv.gz")]).status == 0)
        let runCount = try f.int("SELECT count(*) FROM import_runs"), exportCount = try f.int("SELECT count(*) FROM export_runs")
        #expect(runCount == 5 && exportCount == 1)

        let server = try ConsoleServer.start(database: f.url, tokens: Self.token, in: f)
        defer { server.stop() }
        let browser = try BrowserSession(chromium)

        // Without a session every page leads to the login, which comes back to it.
        try browser.open(server.base + "/console/orders?q=x")
        #expect(try browser.url().hasPrefix(server.base + "/console/login?next="))
        try browser.evaluate("document.getElementById('token').value = 'wrong'")
        try browser.evaluateAndWait("document.querySelector('form.login').submit()")
        #expect(try browser.evaluate("document.querySelector('[role=alert]').textContent") as? String == "That token is not one the API accepts.")
        try browser.evaluate("document.getElementById('token').focus()")
        try browser.type(Self.token)
        try browser.evaluateAndWait("document.querySelector('form.login').submit()")
        #expect(try browser.url() == server.base + "/console/orders?q=x")
        #expect(try browser.evaluate("document.querySelector('nav a[aria-current=page]').textContent") as? String == "Orders")
        try browser.open(server.base + "/console/runs")
        let cookie = try browser.cookies(for: server.base + "/console/runs").first { $0["name"] as? String == "orderflow_console" }
        #expect(cookie?["httpOnly"] as? Bool == true && cookie?["sameSite"] as? String == "Strict" && cookie?["path"] as? String == "/console")

        // Runs: every run and export, with the figures the database holds.
        var shown = try dataKeys(browser)
        for row in try f.conn.query("""
            SELECT id, status, counts->>'recordsRead' AS records, counts->>'recordsRejected' AS rejected, counts->>'created' AS created FROM import_runs
            """).rows {
            let id = row["id"]!
            #expect(shown["run.\(id).status"] == row["status"], "run \(id)")
            #expect(shown["run.\(id).records"] == row["records"] ?? "", "run \(id)")
            #expect(shown["run.\(id).rejected"] == row["rejected"] ?? "", "run \(id)")
            #expect(shown["run.\(id).created"] == row["created"] ?? "", "run \(id)")
        }
        let export = try f.conn.query("SELECT id, status, rows::text AS rows, sha256 FROM export_runs").rows[0]
        #expect(shown["export.\(export["id"]!).status"] == "exported" && shown["export.\(export["id"]!).records"] == export["rows"])
        let pipelinesShown = try f.conn.query("SELECT pipeline, sum((counts->>'recordsRead')::bigint)::text AS records FROM import_runs GROUP BY 1").rows
        for p in pipelinesShown { #expect(shown["nights.\(p["pipeline"]!).records"] == p["records"], "\(p["pipeline"]!)") }
        try checkPage(browser, name: "runs", in: f)

        // Filters narrow the list.
        try browser.open(server.base + "/console/runs?outcome=failed")
        shown = try dataKeys(browser)
        #expect(shown.keys.filter { $0.hasSuffix(".status") && $0.hasPrefix("run.") }.count == 1 && shown.values.contains("failed"))

        // A run's page: its stored report, and the rejects file to download.
        let aborted = try f.scalar("SELECT id FROM import_runs WHERE status = 'aborted'")!
        try browser.open(server.base + "/console/runs/\(aborted)")
        shown = try dataKeys(browser)
        #expect(shown["outcome"] == "aborted" && shown["rejectsByReason.invalid_status"] == "1")
        let rejectsLink = try browser.evaluate("document.querySelector('a[download]').getAttribute('href')") as? String
        #expect(rejectsLink == "/console/runs/\(aborted)/rejects/0")
        try checkPage(browser, name: "run", in: f)
        let session = try #require(cookie?["value"] as? String)
        let rejects = try server.get("/console/runs/\(aborted)/rejects/0", session: session)
        #expect(rejects.status == 200 && String(decoding: rejects.body, as: UTF8.self).contains("R-2"))

        // Order lookup: by external ref, tracking number and id; feed values are text, never markup.
        try browser.open(server.base + "/console/orders")
        try browser.evaluate("document.getElementById('q').value = \(try jsString(Self.hostileRef))")
        try browser.evaluateAndWait("document.querySelector('form.search').submit()")
        #expect(try browser.url().contains("/console/orders/"))
        #expect(try browser.evaluate("document.querySelector('[data-key=\"order.externalRef\"]').textContent") as? String == Self.hostileRef)
        #expect(try browser.evaluate("document.title") as? String != "owned")
        #expect(try browser.evaluate("document.querySelectorAll('main script').length") as? Int == 0)
        let hostileId = try f.scalar("SELECT id FROM orders WHERE external_ref = \(PostgresQuery.quoteLiteral(Self.hostileRef))")!
        shown = try dataKeys(browser)
        #expect(shown["order.id"] == hostileId && shown["order.status"] == "shipped" && shown["order.total"] == "19.98")
        #expect(shown["line.1.quantity"] == "2" && shown["line.1.unitPrice"] == "9.99")
        try checkPage(browser, name: "order", in: f)

        try browser.open(server.base + "/console/orders?q=1ZHOSTILE1")
        #expect(try browser.url() == server.base + "/console/orders/\(hostileId)")
        try browser.open(server.base + "/console/orders?q=" + (Self.formulaRef.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        #expect(try browser.evaluate("document.querySelector('[data-key=\"order.externalRef\"]').textContent") as? String == Self.formulaRef)
        // An order the tracking run moved: its timeline holds order and carrier events, each with its source.
        let tracked = try f.scalar("SELECT order_id FROM shipment_events ORDER BY order_id LIMIT 1")!
        try browser.open(server.base + "/console/orders/\(tracked)")
        let timeline = try browser.evaluate("[...document.querySelectorAll('table.timeline tbody tr')].map(r => r.className + '|' + r.cells[3].textContent)") as? [String] ?? []
        let orderEvents = try f.int("SELECT count(*) FROM order_events WHERE order_id = '\(tracked)'")
        let events = try orderEvents + f.int("SELECT count(*) FROM shipment_events WHERE order_id = '\(tracked)'")
        #expect(timeline.count == events && timeline.contains { $0.hasPrefix("carrier|run ") } && timeline.contains { $0.hasPrefix("order|run ") })

        // Exports: the ledger with SHA-256 and totals, and the file while it is on disk.
        try browser.open(server.base + "/console/exports")
        shown = try dataKeys(browser)
        let eid = export["id"]!
        #expect(shown["export.\(eid).sha256"] == export["sha256"] && shown["export.\(eid).rows"] == export["rows"])
        #expect(shown["export.\(eid).totals"]?.contains("USD ") == true)
        try checkPage(browser, name: "exports", in: f)
        try browser.open(server.base + "/console/exports/\(eid)")
        #expect(try dataKeys(browser)["output.sha256"] == export["sha256"])
        try checkPage(browser, name: "export", in: f)
        let file = try server.get("/console/exports/\(eid)/file", session: session)
        let written = Array(try Data(contentsOf: URL(fileURLWithPath: f.path("orders.csv.gz"))))
        #expect(file.status == 200 && file.body == written)

        // Signing out ends the session.
        try browser.open(server.base + "/console/runs")
        try browser.evaluateAndWait("document.querySelector('form.signout').submit()")
        #expect(try browser.url().hasPrefix(server.base + "/console/login"))
        #expect(try server.get("/console/runs", session: session).status == 303)
    }

    /// Every `data-key` element's text, as the page shows it.
    func dataKeys(_ browser: BrowserSession) throws -> [String: String] {
        let pairs = try browser.evaluate("[...document.querySelectorAll('[data-key]')].map(e => [e.dataset.key, e.textContent])") as? [[String]] ?? []
        return Dictionary(pairs.map { ($0[0], $0[1]) }, uniquingKeysWith: { a, _ in a })
    }

    /// The page is drawn (not blank), and Tab reaches every link and control on it, in order.
    func checkPage(_ browser: BrowserSession, name: String, in f: DatabaseFixture) throws {
        let png = try browser.screenshot()
        try Data(png).write(to: f.dir.appendingPathComponent("console-\(name).png"))
        let drawn = try PNGImage(data: png).drawn()
        #expect(drawn.share > 0.01 && drawn.colours > 5, "\(name): the screenshot is (nearly) blank")

        let targets = try browser.evaluate("""
            [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select')].map((e, i) => (e.dataset.tab = String(i), String(i)))
            """) as? [String] ?? []
        #expect(!targets.isEmpty)
        try browser.evaluate("document.activeElement && document.activeElement.blur(); window.focus()")
        var reached: [String] = []
        // A date input takes a Tab per part (day, month, year): more presses than targets.
        for _ in 0..<(targets.count * 2 + 10) where reached.count < targets.count {
            try browser.press("Tab")
            if let tab = try browser.evaluate("document.activeElement && document.activeElement.dataset.tab") as? String, !reached.contains(tab) {
                reached.append(tab)
            }
        }
        let missed = Set(targets).subtracting(reached)
        #expect(missed.isEmpty, "\(name): Tab never reached \(missed.count) of \(targets.count) links and controls")
    }

    /// `text` as a JavaScript string literal (JSON's string syntax is a subset of it).
    func jsString(_ text: String) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: [text]), as: UTF8.self).dropFirst().dropLast().description
    }
}

/// `orderflow serve` on a free loopback port, for as long as a test needs it.
struct ConsoleServer {
    let process: OrderflowProcess
    let base: String

    static func start(database: String, tokens: String, in f: DatabaseFixture) throws -> ConsoleServer {
        let port = try LoopbackPort.free()
        setenv("ORDERFLOW_API_TOKENS", tokens, 1)
        defer { unsetenv("ORDERFLOW_API_TOKENS") }
        let process = try OrderflowBinary.launch(["serve", "--database", database, "--port", "\(port)", "--log-level", "warning"],
                                                 errorLog: f.path("serve.log"))
        let server = ConsoleServer(process: process, base: "http://127.0.0.1:\(port)")
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let status = try? server.status("/health/live"), status == 200 { return server }
            usleep(100_000)
        }
        server.stop()
        throw ServerFailed(message: "orderflow serve did not answer within 30 s: \(process.stderr)")
    }

    func stop() {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }


    func status(_ path: String) throws -> Int {
        let r = try TestProgram.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", base + path])
        return Int(String(decoding: r.output, as: UTF8.self)) ?? 0
    }

    /// GET with the session cookie, not following redirects.
    func get(_ path: String, session: String) throws -> (status: Int, body: [UInt8]) {
        let out = f_tmp()
        defer { unlink(out) }
        let r = try TestProgram.run("/usr/bin/curl", ["-s", "-o", out, "-w", "%{http_code}", "-H", "Cookie: orderflow_console=\(session)", base + path])
        return (Int(String(decoding: r.output, as: UTF8.self)) ?? 0, Array((try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data()))
    }

    private func f_tmp() -> String { NSTemporaryDirectory() + "of-console-\(getpid())-\(UInt32.random(in: 0...UInt32.max))" }
}

struct ServerFailed: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
