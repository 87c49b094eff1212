import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import OrderAPI
import OrderModel
import PostgresClient
import OrderflowTestSupport
import Synchronization
import Testing

/// A clock that starts at the seed's timestamp and moves 1 ms per reading, so bodies are exact.
final class TestClock: Sendable {
    static let start = Timestamp(rfc3339: "2024-09-17T03:21:38.892Z")!
    private let readings = Atomic<Int64>(0)
    func now() -> Timestamp {
        Timestamp(microseconds: Self.start.microseconds + readings.add(1, ordering: .relaxed).oldValue * 1000)
    }
}

/// An API over a fresh migrated database, driven through HummingbirdTesting's router client.
struct APIHarness: Sendable {
    let pool: PostgresConnectionPool
    let clock = TestClock()

    /// Runs `body` against the API (fresh database unless `conninfo` is given).
    static func run(configuration: OrderAPIConfiguration = .init(), conninfo: String? = nil, lockTimeout: Int = 2_000,
                    _ body: @Sendable (any TestClientProtocol, APIHarness) async throws -> Void) async throws {
        let url: String
        if let conninfo { url = conninfo } else { url = try await BlockingThread.run { try TestDatabase.fresh() } }
        let pool = PostgresConnectionPool(.init(conninfo: url, size: 2, lockTimeoutMilliseconds: lockTimeout, applicationName: OrderAPI.applicationName))
        defer { pool.shutdown() }
        let harness = APIHarness(pool: pool)
        let router = OrderAPI.router(pool: pool, configuration: configuration, now: { harness.clock.now() })
        var logger = Logger(label: "orderflow.api.test")
        logger.logLevel = .warning // request lines would drown the test output
        let app = Application(router: router, logger: logger)
        // Off the concurrency pool, which the suite's synchronous database tests keep busy.
        try await withTaskExecutorPreference(ThreadExecutor.api) {
            try await app.test(.router) { client in try await body(client, harness) }
        }
    }

    /// Rows of a query, as text (for checking what the API wrote).
    func rows(_ query: PostgresQuery) async throws -> [[String?]] {
        try await pool.withConnection { conn in try conn.query(query).rows.map(\.values) }
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    /// The body as a JSON object (for reading ids and members).
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }
}

extension TestClientProtocol {
    /// Sends `json` as an `application/json` body.
    func send(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        if json != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }

    /// Creates the seed order and returns the response.
    func createSeedOrder(headers: HTTPFields = [:]) async throws -> TestResponse {
        try await send(.post, "/orders", json: seedBody, headers: headers)
    }
}

let seedBody = #"{"customerId":"12345","products":[{"productId":"product-1","quantity":2},{"productId":"product-2","quantity":1}]}"#
