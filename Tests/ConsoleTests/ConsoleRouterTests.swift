@testable import Console
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import OrderAPI
import OrderflowTestSupport
import PostgresClient
import Synchronization
import Testing

/// The console's routes in process (HummingbirdTesting's router client) over a real database:
/// sign-in, headers, sessions, paging.
@Suite("console routes", .serialized)
struct ConsoleRouterTests {
    static let token = "router-test-token"

    func withConsole(tokens: [String] = [token], sessions: ConsoleSessions = ConsoleSessions(),
                     _ body: @Sendable (any TestClientProtocol, DatabaseFixture) async throws -> Void) async throws {
        let f = try DatabaseFixture(prefix: "of-console-router")
        let pool = PostgresConnectionPool(.init(conninfo: f.url, size: 2, applicationName: OrderAPI.applicationName))
        defer { pool.shutdown() }
        let configuration = OrderAPIConfiguration(tokens: tokens)
        let router = OrderAPI.router(pool: pool, configuration: configuration,
                                     mounts: [ConsoleRoutes(pool: pool, tokens: tokens, sessions: sessions)])
        var logger = Logger(label: "orderflow.console.test")
        logger.logLevel = .warning
        nonisolated(unsafe) let fixture = f
        try await withTaskExecutorPreference(ThreadExecutor.api) {
            try await Application(router: router, logger: logger).test(.router) { client in try await body(client, fixture) }
        }
    }

    static func form(_ fields: [String: String]) -> ByteBuffer {
        ByteBuffer(string: fields.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }.joined(separator: "&"))
    }

    static let formType: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    @Test func aRequestWithoutASessionGoesToTheLoginAndATokenOpensOne() async throws {
        try await withConsole { client, _ in
            let anonymous = try await client.execute(uri: "/console/runs?pipeline=a", method: .get)
            #expect(anonymous.status == .seeOther && anonymous.headers[.location] == "/console/login?next=%2Fconsole%2Fruns%3Fpipeline%3Da")
            #expect(anonymous.headers[.contentSecurityPolicy] == ConsoleGuard.contentSecurityPolicy)
            #expect(try await client.execute(uri: "/console", method: .get).headers[.location] == "/console/runs")
            // The API's bearer token is not a console session, and the console does not open the API.
            let bearer = try await client.execute(uri: "/console/runs", method: .get, headers: [.authorization: "Bearer \(Self.token)"])
            #expect(bearer.status == .seeOther)
            #expect(try await client.execute(uri: "/orders", method: .get).status == .unauthorized)

            let login = try await client.execute(uri: "/console/login", method: .get)
            #expect(login.status == .ok && String(buffer: login.body).contains("type=\"password\""))
            let wrong = try await client.execute(uri: "/console/login", method: .post, headers: Self.formType, body: Self.form(["token": "nope"]))
            #expect(wrong.status == .unauthorized && wrong.headers[.setCookie] == nil)
            // `next` may only point inside the console: no open redirect.
            let right = try await client.execute(uri: "/console/login", method: .post, headers: Self.formType,
                                                 body: Self.form(["token": Self.token, "next": "//evil.example/console/"]))
            #expect(right.status == .seeOther && right.headers[.location] == "/console/runs")
            let cookie = try #require(right.headers[.setCookie])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/console") && cookie.contains("Max-Age=28800"))
            let session = String(cookie.prefix { $0 != ";" })
            let page = try await client.execute(uri: "/console/runs", method: .get, headers: [.cookie: session])
            #expect(page.status == .ok && page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[.cacheControl] == "no-store" && page.headers[.xContentTypeOptions] == "nosniff")
            #expect(!String(buffer: page.body).contains("<script") && !String(buffer: page.body).contains("style=\""))

            let missing = try await client.execute(uri: "/console/runs/999", method: .get, headers: [.cookie: session])
            #expect(missing.status == .notFound && String(buffer: missing.body).contains("There is no run 999"))
            #expect(try await client.execute(uri: "/console/nowhere/at/all", method: .get, headers: [.cookie: session]).status == .notFound)

            let out = try await client.execute(uri: "/console/logout", method: .post, headers: [.cookie: session])
            #expect(out.status == .seeOther && out.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await client.execute(uri: "/console/runs", method: .get, headers: [.cookie: session]).status == .seeOther)
        }
    }

    /// A clock the test moves: sessions age without the test sleeping (a loaded machine may
    /// sleep far longer than asked).
    final class ManualClock: Sendable {
        let start = ContinuousClock.now
        let offset = Mutex<Duration>(.zero)
        func now() -> ContinuousClock.Instant { start + offset.withLock { $0 } }
        func advance(_ d: Duration) { offset.withLock { $0 += d } }
    }

    @Test func sessionsEndAfterTheirLifetimeAndWhenIdle() async throws {
        let clock = ManualClock()
        let idle = ConsoleSessions(lifetime: .seconds(3600), idle: .seconds(60), now: { clock.now() })
        let a = idle.open()
        #expect(idle.check(a))
        clock.advance(.seconds(59))
        #expect(idle.check(a), "a request keeps the session alive")
        clock.advance(.seconds(59))
        #expect(idle.check(a), "59 s after the last request")
        clock.advance(.seconds(60))
        #expect(!idle.check(a), "idle for the idle time")
        #expect(!idle.check(a), "an ended session stays ended")

        let short = ConsoleSessions(lifetime: .seconds(300), idle: .seconds(60), now: { clock.now() })
        let b = short.open()
        for _ in 0..<5 {
            clock.advance(.seconds(50))
            #expect(short.check(b))
        }
        clock.advance(.seconds(50))
        #expect(!short.check(b), "past its lifetime, however busy")
        #expect(!short.check("not-a-session"))

        // Through the routes: an ended session leads back to the login; another sign-in works.
        try await withConsole(sessions: ConsoleSessions(lifetime: .seconds(600), idle: .seconds(60), now: { clock.now() })) { client, _ in
            let login = try await client.execute(uri: "/console/login", method: .post, headers: Self.formType, body: Self.form(["token": Self.token]))
            let session = String(try #require(login.headers[.setCookie]).prefix { $0 != ";" })
            #expect(try await client.execute(uri: "/console/exports", method: .get, headers: [.cookie: session]).status == .ok)
            clock.advance(.seconds(61))
            let ended = try await client.execute(uri: "/console/exports", method: .get, headers: [.cookie: session])
            #expect(ended.status == .seeOther && ended.headers[.location]?.hasPrefix("/console/login") == true)
        }
    }

    /// 130 runs and 40 exports on 20 instants (many ties, across both tables), paged by the
    /// "Older" link: every row once, in the order SQL gives, filters applied.
    @Test func runPagesWalkEveryRunAndExportOnceNewestFirst() async throws {
        try await withConsole(tokens: []) { client, f in
            try f.conn.execute("""
                INSERT INTO import_runs (pipeline, kind, input_name, input_sha256, started_at, finished_at, status, counts)
                SELECT CASE WHEN g % 3 = 0 THEN 'nightly' ELSE 'hourly' END, 'orders', 'feed-' || g || '.csv', md5(g::text),
                       timestamptz '2026-11-01 02:00Z' + (g % 20) * interval '1 day', timestamptz '2026-11-01 02:01Z' + (g % 20) * interval '1 day',
                       CASE WHEN g % 7 = 0 THEN 'failed' ELSE 'applied' END,
                       jsonb_build_object('recordsRead', g * 10, 'recordsRejected', g % 4, 'created', g, 'updated', 0, 'deleted', 0)
                FROM generate_series(1, 130) g;
                INSERT INTO export_runs (export_id, pipeline, dataset, format, incremental, status, rows, report, started_at, finished_at)
                SELECT 'e' || g, 'nightly', 'orders', 'csv', false, 'exported', g, '{}', timestamptz '2026-11-01 02:00Z' + (g % 20) * interval '1 day',
                       timestamptz '2026-11-01 02:00:30Z' + (g % 20) * interval '1 day'
                FROM generate_series(1, 40) g;
                """)
            func walk(_ first: String) async throws -> [String] {
                var keys: [String] = [], next: String? = first, pages = 0
                while let uri = next {
                    let page = String(buffer: try await client.execute(uri: uri, method: .get).body)
                    pages += 1
                    keys += page.matches(of: /data-key="((?:run|export)\.\d+)\.status"/).map { String($0.output.1) }
                    next = page.firstMatch(of: /<a href="([^"]+)" rel="next">/).map { String($0.output.1).replacingOccurrences(of: "&amp;", with: "&") }
                    #expect(pages < 20)
                }
                return keys
            }
            func expected(_ condition: String) throws -> [String] {
                try f.conn.query(PostgresQuery(unsafeSQL: """
                    SELECT key FROM (
                        SELECT 'run.' || id AS key, started_at, 1 AS rank, id, pipeline, status FROM import_runs
                        UNION ALL SELECT 'export.' || id, started_at, 0, id, pipeline, status FROM export_runs
                    ) u WHERE \(condition) ORDER BY started_at DESC, rank DESC, id DESC
                    """, binds: [])).rows.map { $0["key"]! }
            }
            let all = try await walk("/console/runs")
            #expect(all.count == 170 && Set(all).count == 170)
            #expect(all == (try expected("true")))
            let nightlyApplied = try await walk("/console/runs?pipeline=nightly&outcome=applied")
            #expect(nightlyApplied == (try expected("pipeline = 'nightly' AND status = 'applied'")))
            let days = try await walk("/console/runs?from=2026-11-05&to=2026-11-06&kind=export")
            #expect(days == (try expected("rank = 0 AND started_at >= '2026-11-05' AND started_at < '2026-11-07'")) && !days.isEmpty)

            let bad = try await client.execute(uri: "/console/runs?before=nonsense", method: .get)
            #expect(bad.status == .badRequest)
            // Without tokens the console is open, like the API, and offers no sign-out.
            #expect(!String(buffer: try await client.execute(uri: "/console/runs", method: .get).body).contains("Sign out"))
        }
    }

    @Test func feedValuesAreTextOnEveryPage() async throws {
        try await withConsole(tokens: []) { client, f in
            let hostile = "<img src=x onerror=alert(1)>"
            try f.conn.query("""
                INSERT INTO orders (id, source, external_ref, customer_id, status, currency, created_at, updated_at)
                VALUES ('0190a1b2-0000-7000-8000-000000000001', 'legacy', \(hostile), \("=HYPERLINK(\"x\")"), 'processing', 'USD', now(), now())
                """)
            try f.conn.query("""
                INSERT INTO import_runs (pipeline, kind, input_name, input_sha256, started_at, finished_at, status, message)
                VALUES (\(hostile), 'orders', \(hostile), 'x', now(), now(), 'failed', \(hostile))
                """)
            for uri in ["/console/orders/0190a1b2-0000-7000-8000-000000000001", "/console/orders?q=" + hostile.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!,
                        "/console/runs"] {
                let response = try await client.execute(uri: uri, method: .get)
                let page = String(buffer: response.body)
                #expect(response.status == .ok || response.status == .seeOther, "\(uri)")
                if response.status == .ok {
                    #expect(!page.contains(hostile) && page.contains("&lt;img src=x onerror=alert(1)&gt;"), "\(uri)")
                }
            }
        }
    }
}
