import Foundation
import OrderModel
import PostgresClient

/// Single-order reads and writes for the API, each change recorded in `order_events`.
///
/// Every write locks the order row first (`FOR UPDATE`) so the caller's precondition (the
/// `If-Match` check) and the status rule are judged against the row that is then changed.
/// History rows use the same columns and kinds as the pipelines' apply step.
public struct OrderRepository: Sendable {
    /// The `source` of orders and events written through the API.
    public static let apiSource = "api"
    /// The largest page a list may ask for.
    public static let maxPageSize = 200

    public init() {}

    // MARK: Create

    /// An idempotency key with the request it stands for and the response to replay.
    public struct IdempotencyRecord: Sendable {
        public var key: String
        /// A digest of the canonical request: another request under the same key is refused.
        public var requestHash: String
        public var responseBody: String
        public var etag: String
        public init(key: String, requestHash: String, responseBody: String, etag: String) {
            self.key = key
            self.requestHash = requestHash
            self.responseBody = responseBody
            self.etag = etag
        }
    }

    /// What a create did.
    public enum CreateOutcome: Sendable, Equatable {
        case created
        /// The key was used before for the same request: its stored response.
        case replayed(responseBody: String, etag: String)
    }

    /// Inserts `order` (its items and a `created` event) in one statement; with an idempotency
    /// record, in one transaction with the key so a retry replays instead of creating twice.
    public func create(_ order: Order, idempotency: IdempotencyRecord? = nil, on conn: PostgresConnection) throws -> CreateOutcome {
        guard let idempotency else {
            try insert(order, on: conn)
            return .created
        }
        return try conn.withTransaction { conn in
            // A concurrent holder of the key makes this wait, then see its committed row.
            let claimed = try conn.query("""
                INSERT INTO api_idempotency_keys (key, request_hash, created_at)
                VALUES (\(idempotency.key), \(idempotency.requestHash), \(order.createdAt))
                ON CONFLICT (key) DO NOTHING
                """).affectedRows == 1
            if !claimed {
                let row = try conn.query("""
                    SELECT request_hash, response_body, etag FROM api_idempotency_keys WHERE key = \(idempotency.key)
                    """).rows[0]
                guard try row.decode("request_hash", as: String.self) == idempotency.requestHash else {
                    throw OrderStoreError.idempotencyKeyReused
                }
                return .replayed(responseBody: try row.decode("response_body"), etag: try row.decode("etag"))
            }
            try insert(order, on: conn)
            try conn.query("""
                UPDATE api_idempotency_keys SET order_id = \(order.id), response_body = \(idempotency.responseBody),
                       etag = \(idempotency.etag)
                WHERE key = \(idempotency.key)
                """)
            return .created
        }
    }

    /// The insert the API runs per created order (also what `bench api` gives pgbench).
    public static let insertSQL = """
        WITH o AS (
            INSERT INTO orders (id, source, external_ref, customer_id, status, currency, created_at, updated_at)
            VALUES ($1, 'api', $2, $3, 'processing', $4, $5, $5)
        ), i AS (
            INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
            SELECT $1, t.n, t.product_id, t.quantity, t.unit_price
            FROM unnest($6::text[], $7::integer[], $8::numeric[]) WITH ORDINALITY AS t(product_id, quantity, unit_price, n)
        )
        INSERT INTO order_events (order_id, source, kind, to_status, event_at, recorded_at)
        VALUES ($1, 'api', 'created', 'processing', $5, $5)
        """

    func insert(_ order: Order, on conn: PostgresConnection) throws {
        let binds: [String?] = [
            order.id.postgresText, order.externalRef, order.customerId, order.currency, order.createdAt.postgresText,
            order.items.map(\.productId).postgresText,
            order.items.map(\.quantity).postgresText,
            Self.nullableArray(order.items.map(\.unitPrice)),
        ]
        do {
            try conn.query(PostgresQuery(unsafeSQL: Self.insertSQL, binds: binds))
        } catch let error as PostgresError where error.isUniqueViolation {
            if error.message.contains("orders_source_external_ref_key") || error.detail?.contains("external_ref") == true {
                throw OrderStoreError.duplicateExternalRef
            }
            throw OrderStoreError.duplicateID
        }
    }

    /// A `numeric[]` literal where missing prices are NULL elements.
    static func nullableArray(_ values: [Money?]) -> String {
        "{" + values.map { $0.map(\.description) ?? "NULL" }.joined(separator: ",") + "}"
    }
}
