import Foundation
import OrderModel
import PostgresClient

extension OrderRepository {

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

    /// Sets the carrier and tracking number (normalized like the pipelines do) of the order's
    /// most recent shipment, the legacy single-shipment view of shipments: a shipment is created
    /// when the order has none, and both `nil` removes the most recent one (its lines and
    /// carrier events go with it), so the order then shows the one before. Unchanged values are
    /// a no-op. A carrier without a number is `trackingNumberRequired`; a number another of the
    /// order's shipments has is `duplicateShipment`. The status never moves here (it did not
    /// before shipments existed); adding one through `addShipment` does that.
    public func updateShipping(_ id: UUID, trackingCompany: String?, trackingNumber: String?, now: Timestamp,
                               precondition: @Sendable (Order) -> Bool = { _ in true }, on conn: PostgresConnection) throws -> Order {
        let company = trackingCompany.flatMap(Carrier.normalizedName)
        let number = trackingNumber.flatMap(Carrier.normalizedTrackingNumber)
        return try conn.withTransaction { conn in
            let order = try findLocked(id, on: conn)
            guard precondition(order) else { throw OrderStoreError.preconditionFailed }
            guard let number else {
                guard company == nil else { throw OrderStoreError.trackingNumberRequired }
                return try removeLatestShipment(of: order, now: now, on: conn)
            }
            // An unknown carrier is '' in shipments, as the migration stored it.
            let carrier = company ?? ""
            guard let latest = order.shipments.last else {
                return try addShippingShipment(to: order, carrier: carrier, number: number, now: now, on: conn)
            }
            if latest.carrier == carrier && latest.trackingNumber == number
                && order.trackingCompany == company && order.trackingNumber == number { return order }
            if order.shipments.dropLast().contains(where: { $0.carrier == carrier && $0.trackingNumber == number }) {
                throw OrderStoreError.duplicateShipment
            }
            try conn.query("""
                UPDATE shipments SET carrier = \(carrier), tracking_number = \(number), updated_at = \(now)
                WHERE order_id = \(id) AND id = \(latest.id)
                """)
            let tracking = try syncTracking(id, now: now, on: conn)
            try recordShippingUpdated(id, tracking, now: now, on: conn)
            return try findLocked(id, on: conn)
        }
    }

    /// Both `nil`: the most recent shipment goes; the order's tracking fields then copy the one
    /// before (or clear). An order without shipments only has its fields cleared (a carrier
    /// without a number from before shipments existed), or is left as it is.
    func removeLatestShipment(of order: Order, now: Timestamp, on conn: PostgresConnection) throws -> Order {
        if let latest = order.shipments.last {
            try conn.query("DELETE FROM shipments WHERE order_id = \(order.id) AND id = \(latest.id)")
        } else if order.trackingCompany == nil && order.trackingNumber == nil {
            return order
        }
        let tracking = try syncTracking(order.id, now: now, on: conn)
        try recordShippingUpdated(order.id, tracking, now: now, on: conn)
        return try findLocked(order.id, on: conn)
    }

    /// The order's first shipment, from the legacy endpoint: recorded as `shipment_added` like
    /// every added shipment, and refused like every new one on a cancelled or returned order,
    /// but without the status move `addShipment` makes.
    func addShippingShipment(to order: Order, carrier: String, number: String, now: Timestamp,
                             on conn: PostgresConnection) throws -> Order {
        guard Shipment.acceptsNewShipment(order.status) else {
            throw OrderStoreError.illegalTransition(from: order.status, to: .shipped)
        }
        try conn.query("""
            INSERT INTO shipments (order_id, carrier, tracking_number, source, created_at, updated_at)
            VALUES (\(order.id), \(carrier), \(number), \(Self.apiSource), \(now), \(now))
            """)
        let tracking = try syncTracking(order.id, now: now, on: conn)
        try conn.query("""
            INSERT INTO order_events (order_id, source, kind, tracking_company, tracking_number, event_at, recorded_at)
            VALUES (\(order.id), \(Self.apiSource), 'shipment_added', \(tracking.company), \(tracking.number), \(now), \(now))
            """)
        return try findLocked(order.id, on: conn)
    }

    func recordShippingUpdated(_ id: UUID, _ tracking: (company: String?, number: String?), now: Timestamp,
                               on conn: PostgresConnection) throws {
        try conn.query("""
            INSERT INTO order_events (order_id, source, kind, tracking_company, tracking_number, event_at, recorded_at)
            VALUES (\(id), \(Self.apiSource), 'shipping_updated', \(tracking.company), \(tracking.number), \(now), \(now))
            """)
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
