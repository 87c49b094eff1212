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
