import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OrderAPI

/// Every console response passes here: a request without a live session goes to the login,
/// errors become HTML pages, and every answer gets the security headers.
struct ConsoleGuard: RouterMiddleware {
    typealias Context = BasicRequestContext
    let tokens: APITokens
    let sessions: ConsoleSessions

    static let cookieName = "orderflow_console"
    /// No scripts, no inline styles, no frames, nothing from elsewhere; forms post only here.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    /// Pages a visitor without a session may see.
    static let openPaths: Set<String> = ["/console/login", "/console/console.css"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            if !tokens.isEmpty && !Self.openPaths.contains(request.uri.path) && !signedIn(request) {
                response = Self.toLogin(from: request)
            } else {
                response = try await next(request, context)
            }
        } catch let error as ConsoleError {
            response = ConsoleRoutes.page(error.status, ConsolePages.render(
                ConsolePages.ErrorPage(chrome: ConsoleRoutes.chrome(tokens, "runs"), status: Int(error.status.code),
                                       title: error.title, message: error.message), "error"))
        } catch let error as HTTPResponseError {
            let title = error.status == .notFound ? "Not found" : error.status.reasonPhrase
            response = ConsoleRoutes.page(error.status, ConsolePages.render(
                ConsolePages.ErrorPage(chrome: ConsoleRoutes.chrome(tokens, "runs"), status: Int(error.status.code),
                                       title: title, message: "The console has no such page."), "error"))
        } catch {
            context.logger.error("console request failed", metadata: ["error": "\(error)"])
            response = ConsoleRoutes.page(.serviceUnavailable, ConsolePages.render(
                ConsolePages.ErrorPage(chrome: ConsoleRoutes.chrome(tokens, "runs"), status: 503, title: "The database did not answer",
                                       message: "Try again in a moment; the request id in the server's log names the error."), "error"))
        }
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    func signedIn(_ request: Request) -> Bool {
        guard let id = request.cookies[Self.cookieName]?.value, !id.isEmpty else { return false }
        return sessions.check(id)
    }

    /// 303 to the login, which comes back here afterwards (GET only: a form post is not replayed).
    static func toLogin(from request: Request) -> Response {
        var target = "/console/login"
        if request.method == .get || request.method == .head {
            let here = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            target += "?next=" + (here.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        }
        return .redirect(to: target, type: .normal)
    }
}

/// A console page that cannot be shown: the status and what to tell the reader.
struct ConsoleError: Error {
    var status: HTTPResponse.Status
    var title: String
    var message: String

    static func notFound(_ message: String) -> ConsoleError { ConsoleError(status: .notFound, title: "Not found", message: message) }
}
