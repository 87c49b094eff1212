import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Turns every error into problem+json, stamps the request id and logs one line per request.
///
/// Outermost middleware, so router 404s, body-limit errors and auth failures get the same
/// shape. Unexpected errors are logged with the request id and answered with a bare 500 that
/// says nothing about the internals.
struct ProblemAndLogMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    static let requestIDHeader = HTTPField.Name("X-Request-Id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let problem as APIProblem {
            response = problem.response(instance: request.uri.path)
        } catch let error as HTTPResponseError {
            if error.status == .notFound, let allow = MethodNotAllowed.allowed(forPath: request.uri.path) {
                // The path exists, only not with this method.
                response = APIProblem(.methodNotAllowed, slug: "method-not-allowed", title: "Method not allowed",
                                      detail: "allowed: \(allow)", headers: [.allow: allow]).response(instance: request.uri.path)
            } else {
                response = Self.problem(for: error.status).response(instance: request.uri.path)
            }
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            response = APIProblem(.internalServerError, slug: "internal-error", title: "Internal server error",
                                  detail: "the request id identifies the logged error").response(instance: request.uri.path)
        }
        response.headers[Self.requestIDHeader] = context.id
        let elapsed = ContinuousClock.now - start
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        // Path only: query values may hold customer ids, headers may hold tokens.
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue), "path": .string(request.uri.path),
            "status": .stringConvertible(response.status.code), "ms": .string(String(format: "%.2f", Double(micros) / 1000)),
        ])
        return response
    }

    static func problem(for status: HTTPResponse.Status) -> APIProblem {
        switch status {
        case .notFound:
            return APIProblem(.notFound, slug: "not-found", title: "Not found", detail: "no such resource")
        case .methodNotAllowed:
            return APIProblem(.methodNotAllowed, slug: "method-not-allowed", title: "Method not allowed")
        case .contentTooLarge:
            return APIProblem(.contentTooLarge, slug: "body-too-large", title: "Content too large")
        default:
            return APIProblem(status, slug: "http-\(status.code)", title: status.reasonPhrase)
        }
    }
}

/// The accepted bearer tokens, compared in constant time so response timing does not reveal a
/// token's prefix (the API's bearer check and the console's login share it).
public struct APITokens: Sendable {
    let tokens: [[UInt8]]

    public init(_ tokens: [String]) { self.tokens = tokens.map { Array($0.utf8) } }

    /// No tokens configured: the API (and the console) are open.
    public var isEmpty: Bool { tokens.isEmpty }

    /// Whether `candidate` is one of the tokens.
    public func accepts(_ candidate: some Collection<UInt8>) -> Bool {
        let candidate = Array(candidate)
        var found = false
        for token in tokens {
            var difference = UInt8(truncatingIfNeeded: token.count ^ candidate.count)
            for i in 0..<token.count { difference |= token[i] ^ (i < candidate.count ? candidate[i] : 0) }
            found = found || difference == 0
        }
        return found
    }
}

/// Requires `Authorization: Bearer <token>` with one of the configured tokens; the token is
/// never logged or echoed.
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let tokens: APITokens
    /// Paths that stay open: probes and the API description.
    static let openPaths: Set<String> = ["/health/live", "/health/ready", "/openapi.yaml"]
    /// Mounted pages that check a session of their own (the console's login cookie).
    let mountedPrefixes: [String]

    init(tokens: [String], mountedPrefixes: [String] = []) {
        self.tokens = APITokens(tokens)
        self.mountedPrefixes = mountedPrefixes
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if Self.openPaths.contains(path) || mountedPrefixes.contains(where: { path == $0 || path.hasPrefix($0 + "/") }) {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization], header.count > 7,
              header.prefix(7).lowercased() == "bearer ", tokens.accepts(header.utf8.dropFirst(7)) else {
            throw APIProblem(.unauthorized, slug: "unauthorized", title: "Unauthorized",
                             detail: "send Authorization: Bearer <token>", headers: [.wwwAuthenticate: "Bearer realm=\"orderflow\""])
        }
        return try await next(request, context)
    }
}
