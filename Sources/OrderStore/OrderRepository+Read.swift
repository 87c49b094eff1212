import Foundation
import OrderModel
import PostgresClient

extension OrderRepository {

    /// The lookup the API runs per `GET /orders/{id}`.
    public static let selectSQL = """
        SELECT o.id, o.source, o.external_ref, o.customer_id, o.status, o.currency, o.tracking_company,
               o.tracking_number, o.status_event_at, o.created_at, o.updated_at,
               i.line_no, i.product_id, i.quantity, i.unit_price
        FROM orders o LEFT JOIN order_items i ON i.order_id = o.id
        WHERE o.id = $1
        ORDER BY i.line_no
        """

    /// The order with its items and shipments, or `nil`.
    ///
    /// Two statements, deliberately outside a transaction: BEGIN/COMMIT would double the round
    /// trips of the API's hottest read. A shipment committed between them can show up next to
    /// the order's previous `updatedAt`; its ETag is then older, so an `If-Match` built from
    /// it fails safely (412) instead of overwriting anything.
    public func find(_ id: UUID, on conn: PostgresConnection) throws -> Order? {
        var orders = try Self.orders(from: conn.query(PostgresQuery(unsafeSQL: Self.selectSQL, binds: [id.postgresText])))
        try attachShipments(&orders, on: conn)
        return orders.first
    }

    /// The order locked for a change (`FOR UPDATE`), with its shipments; called inside the
    /// change's transaction.
    func findLocked(_ id: UUID, on conn: PostgresConnection) throws -> Order {
        let result = try conn.query(PostgresQuery(unsafeSQL: Self.selectSQL + " FOR UPDATE OF o", binds: [id.postgresText]))
        var orders = try Self.orders(from: result)
        guard !orders.isEmpty else { throw OrderStoreError.notFound }
        try attachShipments(&orders, on: conn)
        return orders[0]
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
    /// The page's shipments come from one more statement (`order_id = ANY`), as in `find`.
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
        try attachShipments(&orders, on: conn)
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
}
