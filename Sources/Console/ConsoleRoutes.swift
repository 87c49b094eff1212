import Foundation
import HTTPTypes
import Hummingbird
import OrderAPI
import OrderModel
import PostgresClient

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
