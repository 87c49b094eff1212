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

    private func insert(_ order: Order, on conn: PostgresConnection) throws {
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

    // MARK: Read

    /// The lookup the API runs per `GET /orders/{id}`.
    public static let selectSQL = """
        SELECT o.id, o.source, o.external_ref, o.customer_id, o.status, o.currency, o.tracking_company,
               o.tracking_number, o.status_event_at, o.created_at, o.updated_at,
               i.line_no, i.product_id, i.quantity, i.unit_price
        FROM orders o LEFT JOIN order_items i ON i.order_id = o.id
        WHERE o.id = $1
        ORDER BY i.line_no
        """

    /// The order with its items, or `nil`.
    public func find(_ id: UUID, on conn: PostgresConnection) throws -> Order? {
        try Self.orders(from: conn.query(PostgresQuery(unsafeSQL: Self.selectSQL, binds: [id.postgresText]))).first
    }

    private func findLocked(_ id: UUID, on conn: PostgresConnection) throws -> Order {
        let result = try conn.query(PostgresQuery(unsafeSQL: Self.selectSQL + " FOR UPDATE OF o", binds: [id.postgresText]))
        guard let order = try Self.orders(from: result).first else { throw OrderStoreError.notFound }
        return order
    }

    /// Filters and a position for `list`.
    public struct ListQuery: Sendable, Equatable {
        public var customerId: String?
        public var status: OrderStatus?
        /// Inclusive lower bound of `createdAt`.
        public var createdFrom: Timestamp?
        /// Exclusive upper bound of `createdAt`.
        public var createdTo: Timestamp?
        /// Continue after this position (from the previous page).
        public var after: OrderCursor?
        public var limit: Int

        public init(customerId: String? = nil, status: OrderStatus? = nil, createdFrom: Timestamp? = nil,
                    createdTo: Timestamp? = nil, after: OrderCursor? = nil, limit: Int = 50) {
            self.customerId = customerId
            self.status = status
            self.createdFrom = createdFrom
            self.createdTo = createdTo
            self.after = after
            self.limit = limit
        }
    }

    /// One page of a list and where the next one starts (`nil` on the last page).
    public struct Page: Sendable, Equatable {
        public var orders: [Order]
        public var next: OrderCursor?
    }

    /// Orders by `(createdAt, id)`, keyset-paginated so pages stay cheap and stable under inserts.
    public func list(_ query: ListQuery, on conn: PostgresConnection) throws -> Page {
        let limit = min(max(query.limit, 1), Self.maxPageSize)
        let result = try conn.query("""
            WITH page AS (
                SELECT * FROM orders
                WHERE (\(query.customerId)::text IS NULL OR customer_id = \(query.customerId))
                  AND (\(query.status)::text IS NULL OR status = \(query.status))
                  AND (\(query.createdFrom)::timestamptz IS NULL OR created_at >= \(query.createdFrom))
                  AND (\(query.createdTo)::timestamptz IS NULL OR created_at < \(query.createdTo))
                  AND (\(query.after?.createdAt)::timestamptz IS NULL
                       OR (created_at, id) > (\(query.after?.createdAt), \(query.after?.id)::uuid))
                ORDER BY created_at, id
                LIMIT \(limit + 1)
            )
            SELECT o.id, o.source, o.external_ref, o.customer_id, o.status, o.currency, o.tracking_company,
                   o.tracking_number, o.status_event_at, o.created_at, o.updated_at,
                   i.line_no, i.product_id, i.quantity, i.unit_price
            FROM page o LEFT JOIN order_items i ON i.order_id = o.id
            ORDER BY o.created_at, o.id, i.line_no
            """)
        var orders = try Self.orders(from: result)
        var next: OrderCursor?
        if orders.count > limit {
            orders.removeLast(orders.count - limit)
            next = orders.last.map { OrderCursor(createdAt: $0.createdAt, id: $0.id) }
        }
        return Page(orders: orders, next: next)
    }

    /// Groups joined order/item rows (ordered by order) into orders.
    static func orders(from result: PostgresResult) throws -> [Order] {
        var orders: [Order] = []
        for row in result.rows {
            let id = try row.decode("id", as: UUID.self)
            if orders.last?.id != id {
                orders.append(Order(
                    id: id, source: try row.decode("source"), externalRef: try row.decode("external_ref", as: String?.self),
                    customerId: try row.decode("customer_id"), status: try row.decode("status"),
                    currency: try row.decode("currency", as: String?.self),
                    trackingCompany: try row.decode("tracking_company", as: String?.self),
                    trackingNumber: try row.decode("tracking_number", as: String?.self),
                    items: [], createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
                    statusEventAt: try row.decode("status_event_at", as: Timestamp?.self)))
            }
            if row["line_no"] != nil {
                orders[orders.count - 1].items.append(LineItem(
                    productId: try row.decode("product_id"), quantity: try row.decode("quantity"),
                    unitPrice: try row.decode("unit_price", as: Money?.self)))
            }
        }
        return orders
    }

    // MARK: Change

    /// Moves the order to `status` if the shared rules allow it; the same status is a no-op.
    /// `precondition` sees the locked current order (the `If-Match` check).
    public func updateStatus(_ id: UUID, to status: OrderStatus, now: Timestamp,
                             precondition: @Sendable (Order) -> Bool = { _ in true }, on conn: PostgresConnection) throws -> Order {
        try conn.withTransaction { conn in
            var order = try findLocked(id, on: conn)
            guard precondition(order) else { throw OrderStoreError.preconditionFailed }
            switch order.status.transition(to: status) {
            case .unchanged:
                return order
            case let .illegal(from, to):
                throw OrderStoreError.illegalTransition(from: from, to: to)
            case .allowed:
                break
            }
            try conn.query("""
                WITH u AS (
                    UPDATE orders SET status = \(status), status_event_at = \(now), updated_at = \(now) WHERE id = \(id)
                )
                INSERT INTO order_events (order_id, source, kind, from_status, to_status, event_at, recorded_at)
                VALUES (\(id), \(Self.apiSource), 'status_changed', \(order.status), \(status), \(now), \(now))
                """)
            order.status = status
            order.statusEventAt = now
            order.updatedAt = now
            return order
        }
    }

    /// Sets the carrier and tracking number (normalized like the pipelines do); unchanged
    /// values are a no-op.
    public func updateShipping(_ id: UUID, trackingCompany: String?, trackingNumber: String?, now: Timestamp,
                               precondition: @Sendable (Order) -> Bool = { _ in true }, on conn: PostgresConnection) throws -> Order {
        let company = trackingCompany.flatMap(Carrier.normalizedName)
        let number = trackingNumber.flatMap(Carrier.normalizedTrackingNumber)
        return try conn.withTransaction { conn in
            var order = try findLocked(id, on: conn)
            guard precondition(order) else { throw OrderStoreError.preconditionFailed }
            if order.trackingCompany == company && order.trackingNumber == number { return order }
            try conn.query("""
                WITH u AS (
                    UPDATE orders SET tracking_company = \(company), tracking_number = \(number), updated_at = \(now)
                    WHERE id = \(id)
                )
                INSERT INTO order_events (order_id, source, kind, tracking_company, tracking_number, event_at, recorded_at)
                VALUES (\(id), \(Self.apiSource), 'shipping_updated', \(company), \(number), \(now), \(now))
                """)
            order.trackingCompany = company
            order.trackingNumber = number
            order.updatedAt = now
            return order
        }
    }

    /// Deletes the order (its items cascade); the `deleted` event keeps its last status.
    /// Idempotency keys that created it are released: a stored "201 Created" for an order that
    /// is gone would point at nothing.
    public func delete(_ id: UUID, now: Timestamp, precondition: @Sendable (Order) -> Bool = { _ in true },
                       on conn: PostgresConnection) throws {
        try conn.withTransaction { conn in
            let order = try findLocked(id, on: conn)
            guard precondition(order) else { throw OrderStoreError.preconditionFailed }
            try conn.query("""
                WITH d AS (DELETE FROM orders WHERE id = \(id)),
                     k AS (DELETE FROM api_idempotency_keys WHERE order_id = \(id))
                INSERT INTO order_events (order_id, source, kind, from_status, event_at, recorded_at)
                VALUES (\(id), \(Self.apiSource), 'deleted', \(order.status), \(now), \(now))
                """)
        }
    }
}

/// A position in the `(createdAt, id)` order, exchanged with clients as an opaque token.
public struct OrderCursor: Sendable, Hashable {
    public var createdAt: Timestamp
    public var id: UUID

    public init(createdAt: Timestamp, id: UUID) {
        self.createdAt = createdAt
        self.id = id
    }

    /// `<microseconds>_<uuid>`: plain, so the OpenAPI document can give its exact pattern.
    public var token: String { "\(createdAt.microseconds)_\(id.postgresText)" }

    /// Reads `^[0-9]{1,16}_<lowercase uuid>$` (what `token` makes); `nil` for anything else.
    public init?(token: String) {
        let parts = token.split(separator: "_", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, (1...16).contains(parts[0].utf8.count), parts[0].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let micros = Int64(parts[0]), parts[1].utf8.count == 36,
              parts[1].utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || $0 == 0x2D }),
              let id = UUID(uuidString: String(parts[1])) else { return nil }
        self.init(createdAt: Timestamp(microseconds: micros), id: id)
    }
}
