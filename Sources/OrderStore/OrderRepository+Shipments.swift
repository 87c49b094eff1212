import Foundation
import OrderModel
import PostgresClient

/// A shipment the API is asked to add: normalized on creation, so what is compared with the
/// stored shipments is what would be stored.
public struct NewShipment: Sendable, Equatable {
    public var carrier: String
    public var trackingNumber: String
    /// When the parcel left; `nil` when the caller does not say (stored as unknown).
    public var shippedAt: Timestamp?
    public var lines: [ShipmentLine]

    /// `nil` when the carrier or the number is blank once normalized.
    public init?(carrier: String, trackingNumber: String, shippedAt: Timestamp? = nil, lines: [ShipmentLine] = []) {
        guard let carrier = Carrier.normalizedName(carrier),
              let number = Carrier.normalizedTrackingNumber(trackingNumber) else { return nil }
        self.carrier = carrier
        self.trackingNumber = number
        self.shippedAt = shippedAt
        self.lines = lines
    }
}

extension OrderRepository {

    // MARK: Reads

    /// The shipments of the given orders with their lines, in one statement whatever the number
    /// of orders (a list page costs one query more, not one per order).
    public func shipments(of orderIDs: [UUID], on conn: PostgresConnection) throws -> [UUID: [Shipment]] {
        guard !orderIDs.isEmpty else { return [:] }
        let result = try conn.query("""
            SELECT s.order_id, s.id, s.carrier, s.tracking_number, s.status, s.status_event_at, s.shipped_at,
                   s.delivered_at, s.attempts, s.exception_code, s.exception_text, s.source, s.created_at, s.updated_at,
                   l.line_no, l.quantity
            FROM shipments s LEFT JOIN shipment_lines l ON l.order_id = s.order_id AND l.shipment_id = s.id
            WHERE s.order_id = ANY(\(orderIDs)::uuid[])
            ORDER BY s.order_id, s.id, l.line_no
            """)
        var byOrder: [UUID: [Shipment]] = [:]
        var current: (order: UUID, shipment: Shipment)?
        func flush() {
            if let current { byOrder[current.order, default: []].append(current.shipment) }
        }
        for row in result.rows {
            let orderID = try row.decode("order_id", as: UUID.self)
            let id = try row.decode("id", as: Int64.self)
            if current?.order != orderID || current?.shipment.id != id {
                flush()
                current = (orderID, Shipment(
                    id: id, carrier: try row.decode("carrier"), trackingNumber: try row.decode("tracking_number"),
                    status: try row.decode("status", as: OrderStatus?.self),
                    statusEventAt: try row.decode("status_event_at", as: Timestamp?.self),
                    shippedAt: try row.decode("shipped_at", as: Timestamp?.self),
                    deliveredAt: try row.decode("delivered_at", as: Timestamp?.self),
                    attempts: try row.decode("attempts"),
                    exceptionCode: try row.decode("exception_code", as: String?.self),
                    exceptionText: try row.decode("exception_text", as: String?.self),
                    source: try row.decode("source"), createdAt: try row.decode("created_at"),
                    updatedAt: try row.decode("updated_at")))
            }
            if row["line_no"] != nil {
                current?.shipment.lines.append(ShipmentLine(lineNo: try row.decode("line_no"), quantity: try row.decode("quantity")))
            }
        }
        flush()
        return byOrder
    }

    /// Fills in each order's shipments (one query for all of them).
    func attachShipments(_ orders: inout [Order], on conn: PostgresConnection) throws {
        let byOrder = try shipments(of: orders.map(\.id), on: conn)
        for index in orders.indices { orders[index].shipments = byOrder[orders[index].id] ?? [] }
    }

    // MARK: Add

    /// Adds a shipment to the order, in one transaction with everything it implies (the
    /// shipments spec): its lines, a `shipment_added` event, the move of a `processing` order
    /// to `shipped` with its `status_changed` event, and the order's tracking fields, which
    /// copy its most recent shipment — this one. Returns the order as it is afterwards and
    /// the new shipment.
    ///
    /// Throws `notFound`, `preconditionFailed` (`If-Match`), `illegalTransition` (a cancelled
    /// or returned order takes no shipment), `duplicateShipment`, or `ShipmentLinesError`.
    public func addShipment(_ shipment: NewShipment, to id: UUID, now: Timestamp,
                            precondition: @Sendable (Order) -> Bool = { _ in true },
                            on conn: PostgresConnection) throws -> (order: Order, shipment: Shipment) {
        try conn.withTransaction { conn in
            let order = try findLocked(id, on: conn)
            guard precondition(order) else { throw OrderStoreError.preconditionFailed }
            guard Shipment.acceptsNewShipment(order.status) else {
                throw OrderStoreError.illegalTransition(from: order.status, to: .shipped)
            }
            if order.shipments.contains(where: { $0.carrier == shipment.carrier && $0.trackingNumber == shipment.trackingNumber }) {
                throw OrderStoreError.duplicateShipment
            }
            if !shipment.lines.isEmpty {
                let problems = Shipment.problems(lines: shipment.lines, ordered: try orderedQuantities(id, on: conn))
                guard problems.isEmpty else { throw ShipmentLinesError(problems: problems) }
            }
            // The order row is locked, but a writer that adds shipments before it updates the
            // order (a feed) may still hold the same number: DO NOTHING keeps the transaction
            // usable, and no row back means a duplicate.
            let inserted = try conn.query("""
                INSERT INTO shipments (order_id, carrier, tracking_number, shipped_at, source, created_at, updated_at)
                VALUES (\(id), \(shipment.carrier), \(shipment.trackingNumber), \(shipment.shippedAt), \(Self.apiSource), \(now), \(now))
                ON CONFLICT ON CONSTRAINT shipments_order_tracking_key DO NOTHING
                RETURNING id
                """)
            guard let shipmentID = try inserted.first?.decode("id", as: Int64.self) else { throw OrderStoreError.duplicateShipment }
            if !shipment.lines.isEmpty {
                try conn.query("""
                    INSERT INTO shipment_lines (order_id, shipment_id, line_no, quantity)
                    SELECT \(id), \(shipmentID), t.line_no, t.quantity
                    FROM unnest(\(shipment.lines.map(\.lineNo))::integer[], \(shipment.lines.map(\.quantity))::integer[]) AS t(line_no, quantity)
                    """)
            }
            let eventAt = shipment.shippedAt ?? now
            try syncTracking(id, now: now, on: conn)
            try conn.query("""
                INSERT INTO order_events (order_id, source, kind, tracking_company, tracking_number, event_at, recorded_at)
                VALUES (\(id), \(Self.apiSource), 'shipment_added', \(Self.trackingCompany(shipment.carrier)),
                        \(shipment.trackingNumber), \(eventAt), \(now))
                """)
            if order.status == .processing {
                // The hand-over is the status's event: carrier scans after it are not stale.
                try conn.query("""
                    WITH u AS (
                        UPDATE orders SET status = 'shipped', status_event_at = \(eventAt) WHERE id = \(id)
                    )
                    INSERT INTO order_events (order_id, source, kind, from_status, to_status, event_at, recorded_at)
                    VALUES (\(id), \(Self.apiSource), 'status_changed', 'processing', 'shipped', \(eventAt), \(now))
                    """)
            }
            let updated = try findLocked(id, on: conn)
            guard let added = updated.shipments.first(where: { $0.id == shipmentID }) else { throw OrderStoreError.notFound }
            return (updated, added)
        }
    }

    /// Line number → quantity of the order's lines.
    func orderedQuantities(_ id: UUID, on conn: PostgresConnection) throws -> [Int: Int] {
        var ordered: [Int: Int] = [:]
        for row in try conn.query("SELECT line_no, quantity FROM order_items WHERE order_id = \(id)").rows {
            ordered[try row.decode("line_no", as: Int.self)] = try row.decode("quantity", as: Int.self)
        }
        return ordered
    }

    // MARK: Tracking fields

    /// Copies the order's most recent shipment (highest id) into its tracking fields, NULL when
    /// it has none, and stamps `updated_at`: the invariant every statement that adds, changes
    /// or removes a shipment keeps. Returns the values written.
    @discardableResult
    func syncTracking(_ id: UUID, now: Timestamp, on conn: PostgresConnection) throws -> (company: String?, number: String?) {
        let row = try conn.query("""
            WITH latest AS (
                SELECT carrier, tracking_number FROM shipments WHERE order_id = \(id) ORDER BY id DESC LIMIT 1
            )
            UPDATE orders SET tracking_company = nullif((SELECT carrier FROM latest), ''),
                              tracking_number = (SELECT tracking_number FROM latest),
                              updated_at = \(now)
            WHERE id = \(id)
            RETURNING tracking_company, tracking_number
            """).rows[0]
        return (try row.decode("tracking_company", as: String?.self), try row.decode("tracking_number", as: String?.self))
    }

    /// The order's `tracking_company` for a shipment's carrier: an unknown carrier is stored as
    /// '' in shipments (the column is part of a unique key) and as NULL on the order, as before.
    static func trackingCompany(_ carrier: String) -> String? { carrier.isEmpty ? nil : carrier }
}
