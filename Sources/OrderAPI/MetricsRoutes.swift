import Foundation
import HTTPTypes
import Hummingbird
import PostgresClient
import Prometheus

/// The API's Prometheus metrics (docs/metrics.md): requests by route and status, their latency,
/// the pool's connections and whether the database answers. A swift-prometheus registry of the
/// server's own, not the process-wide `MetricsSystem`: every server (and test) counts only its
/// requests, and every family has its help text.
public final class APIMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    /// Buckets from 1 ms to 10 s: the API's statement timeout bounds a request at 5 s.
    static let buckets: [Duration] = [.milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                      .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                      .milliseconds(2500), .seconds(5), .seconds(10)]

    public init() {}

    /// Counts one answered request under its route pattern (`/orders/{id}`, never a raw id).
    func record(route: String, method: String, status: Int, nanoseconds: UInt64) {
        registry.makeCounter(name: "orderflow_http_requests_total", labels: [("route", route), ("method", method), ("status", String(status))],
                             help: "API requests answered, by route pattern, method and status.").increment()
        registry.makeDurationHistogram(name: "orderflow_http_request_duration_seconds", labels: [("route", route), ("method", method)],
                                       buckets: Self.buckets, help: "Time to answer an API request, by route pattern and method.")
            .record(.nanoseconds(Int64(clamping: nanoseconds)))
    }

    /// The text format, after reading the pool and asking the database (at most `timeout`).
    func scrape(pool: PostgresConnectionPool, timeout: Duration = .seconds(2)) async -> [UInt8] {
        let stats = pool.statistics
        registry.makeGauge(name: "orderflow_pool_connections", labels: [("state", "in_use")], help: "API database connections, by state (in_use: running a request).").set(Double(stats.inUse))
        registry.makeGauge(name: "orderflow_pool_connections", labels: [("state", "idle")], help: "API database connections, by state (in_use: running a request).")
            .set(Double(max(0, stats.size - stats.inUse)))
        registry.makeGauge(name: "orderflow_pool_waiting_requests", help: "Requests waiting for a free database connection.").set(Double(stats.waiting))
        registry.makeGauge(name: "orderflow_pool_size", help: "API database connections the pool may hold.").set(Double(stats.size))
        let up = await Self.databaseAnswers(pool: pool, timeout: timeout)
        registry.makeGauge(name: "orderflow_database_up", help: "1 when the database answered SELECT 1 during this scrape, else 0.").set(up ? 1.0 : 0.0)
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return bytes
    }

    static func databaseAnswers(pool: PostgresConnectionPool, timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await pool.withConnection { conn in _ = try conn.execute("SELECT 1") }) != nil }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}

/// Times every request and records it in `APIMetrics` once its answer is known.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: APIMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        // Paths that match no route share one label, so scanners cannot grow the series.
        func record(_ status: HTTPResponse.Status) {
            let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
            metrics.record(route: route, method: request.method.rawValue, status: status.code,
                           nanoseconds: DispatchTime.now().uptimeNanoseconds - start)
        }
        do {
            let response = try await next(request, context)
            record(response.status)
            return response
        } catch {
            record((error as? any HTTPResponseError)?.status ?? .internalServerError)
            throw error
        }
    }
}

/// `GET /metrics`: the Prometheus text format (behind the bearer token like every route).
struct MetricsRoutes: Sendable {
    let pool: PostgresConnectionPool
    let metrics: APIMetrics

    func add(to router: Router<BasicRequestContext>) {
        router.get("/metrics") { _, _ in
            let bytes = await metrics.scrape(pool: pool)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
