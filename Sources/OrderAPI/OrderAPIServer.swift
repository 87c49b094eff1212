import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OrderModel
import PostgresClient

/// Everything `orderflow serve` decides before the server starts.
public struct OrderAPIConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Accepted bearer tokens; empty means no authentication.
    public var tokens: [String]
    /// Allow a non-loopback address without tokens.
    public var insecure: Bool
    /// Largest request body accepted (413 above it).
    public var maxBodyBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 3000, tokens: [String] = [], insecure: Bool = false,
                maxBodyBytes: Int = 1 << 20) {
        self.host = host
        self.port = port
        self.tokens = tokens
        self.insecure = insecure
        self.maxBodyBytes = maxBodyBytes
    }

    /// Refuses to expose an unauthenticated API beyond this machine unless told `--insecure`.
    public func validate() throws(OrderAPIConfigurationError) {
        if tokens.isEmpty && !insecure && !Self.isLoopback(host) {
            throw OrderAPIConfigurationError(message: "refusing to listen on \(host) without authentication: set ORDERFLOW_API_TOKENS or --tokens-file, or pass --insecure")
        }
        if !(0...65535).contains(port) { throw OrderAPIConfigurationError(message: "port \(port) is out of range") }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Tokens from a comma- or newline-separated list (the environment variable or a file's
    /// text); blank entries and `#` comment lines are ignored.
    public static func parseTokens(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == "\r" })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }
}

/// A configuration that must not be served.
public struct OrderAPIConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The REST API: router, middleware and the Hummingbird application.
public enum OrderAPI {
    /// The router with every route and middleware; tests drive it directly.
    public static func router(pool: PostgresConnectionPool, configuration: OrderAPIConfiguration,
                              now: @escaping @Sendable () -> Timestamp = { Timestamp.now }) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: ProblemAndLogMiddleware())
        if !configuration.tokens.isEmpty { router.add(middleware: BearerAuthMiddleware(tokens: configuration.tokens)) }
        HealthRoutes(pool: pool).add(to: router)
        OrderRoutes(pool: pool, maxBodyBytes: configuration.maxBodyBytes, now: now).add(to: router)
        return router
    }

    /// The application `orderflow serve` runs (SIGTERM/SIGINT stop it gracefully).
    public static func application(pool: PostgresConnectionPool, configuration: OrderAPIConfiguration,
                                   logger: Logger) -> some ApplicationProtocol {
        Application(
            router: router(pool: pool, configuration: configuration),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            logger: logger)
    }
}

/// `/health/live` (the process answers) and `/health/ready` (the database answers too).
struct HealthRoutes: Sendable {
    let pool: PostgresConnectionPool

    func add(to router: Router<BasicRequestContext>) {
        router.get("/health/live") { _, _ in
            OrderRoutes.json(.ok, #"{"status":"live"}"#)
        }
        router.get("/health/ready") { _, _ in
            do {
                try await pool.withConnection { conn in _ = try conn.execute("SELECT 1") }
                return OrderRoutes.json(.ok, #"{"status":"ready"}"#)
            } catch {
                var problem = APIProblem.unavailable
                problem.detail = "the database is not reachable"
                throw problem
            }
        }
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"],
                     body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_yaml)))
        }
    }
}

/// The methods each path supports, for 405 answers with `Allow` (the router alone says 404).
enum MethodNotAllowed {
    static let routes: [(segments: [String], allowed: String)] = [
        (["orders"], "GET, HEAD, POST"),
        (["orders", "*"], "GET, HEAD, DELETE"),
        (["orders", "*", "status"], "PATCH"),
        (["orders", "*", "shipping"], "PATCH"),
        (["health", "live"], "GET, HEAD"),
        (["health", "ready"], "GET, HEAD"),
        (["openapi.yaml"], "GET, HEAD"),
    ]

    /// The `Allow` value when `path` is one of ours, else `nil` (a plain 404).
    static func allowed(forPath path: String) -> String? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return routes.first { route in
            route.segments.count == segments.count
                && zip(route.segments, segments).allSatisfy { $0 == "*" || $0 == $1 }
        }?.allowed
    }
}
