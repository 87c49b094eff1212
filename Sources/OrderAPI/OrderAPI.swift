import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OrderModel
import PostgresClient

/// Pages served beside the API under a path of their own (the console), which authenticate
/// their requests themselves: the bearer check leaves `pathPrefix` and everything under it alone.
public protocol APIMount: Sendable {
    /// `/console`: the mount owns this path and every path under it.
    var pathPrefix: String { get }
    func add(to router: Router<BasicRequestContext>)
}

/// The REST API: router, middleware and the Hummingbird application.
public enum OrderAPI {
    /// The `application_name` of the API's database sessions (what `pg_stat_activity` shows).
    public static let applicationName = "orderflow-api"

    /// The router with every route and middleware; tests drive it directly.
    public static func router(pool: PostgresConnectionPool, configuration: OrderAPIConfiguration, metrics: APIMetrics = APIMetrics(),
                              mounts: [any APIMount] = [],
                              now: @escaping @Sendable () -> Timestamp = { Timestamp.now }) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        // Outermost: the answer it records is the one the client gets (problems included).
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.add(middleware: ProblemAndLogMiddleware())
        if !configuration.tokens.isEmpty {
            router.add(middleware: BearerAuthMiddleware(tokens: configuration.tokens, mountedPrefixes: mounts.map(\.pathPrefix)))
        }
        HealthRoutes(pool: pool).add(to: router)
        MetricsRoutes(pool: pool, metrics: metrics).add(to: router)
        OrderRoutes(pool: pool, maxBodyBytes: configuration.maxBodyBytes, now: now).add(to: router)
        for mount in mounts { mount.add(to: router) }
        return router
    }

    /// The application `orderflow serve` runs (SIGTERM/SIGINT stop it gracefully).
    public static func application(pool: PostgresConnectionPool, configuration: OrderAPIConfiguration,
                                   mounts: [any APIMount] = [], logger: Logger) -> some ApplicationProtocol {
        Application(
            router: router(pool: pool, configuration: configuration, mounts: mounts),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            logger: logger)
    }
}
