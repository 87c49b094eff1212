import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OrderModel
import PostgresClient

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
