import Foundation
import OrderModel
import PostgresClient

/// One entry of an order's history: something that happened to the order (`order_events`) or a
/// carrier's scan of one of its shipments (`shipment_events`).
public struct OrderHistoryEvent: Sendable, Equatable {
    /// Which table the entry comes from.
    public enum Origin: String, Sendable {
        case order
        case carrier
    }

    public var at: Timestamp
    public var origin: Origin
    /// `order_events.kind` (`created`, `status_changed`, `shipment_added`, …), or
    /// `carrier_event` for a carrier's scan.
    public var kind: String
    public var fromStatus: String?
    public var toStatus: String?
    /// The status a carrier event means (`nil` for order events, which have from/to instead).
    public var status: String?
    public var carrier: String?
    public var trackingNumber: String?
    public var eventCode: String?
    public var location: String?
    /// The carrier's text for the event.
    public var text: String?
    /// Who wrote an order event (`api`, a pipeline's source); `nil` for carrier events, which
    /// name their run instead.
    public var source: String?
    public var runId: Int64?
}

extension OrderRepository {

    /// Order events and carrier events of one order merged in time order — order events at
    /// `coalesce(event_at, recorded_at)`, carrier events at `event_at`; on a tie order events
    /// first, then by id, carrier events by code — or `nil` when there is no such order.
    ///
    /// The existence check and the events are read in one snapshot so a concurrent delete
    /// cannot answer half a history.
    public func history(_ id: UUID, on conn: PostgresConnection) throws -> [OrderHistoryEvent]? {
        try conn.withTransaction { conn in
            try conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            guard try conn.query("SELECT 1 FROM orders WHERE id = \(id)").count == 1 else { return nil }
            return try conn.query(Self.historyQuery(id)).rows.map { row in
                OrderHistoryEvent(
                    at: try row.decode("at"), origin: try row.decode("origin", as: String.self) == "order" ? .order : .carrier,
                    kind: try row.decode("kind"), fromStatus: try row.decode("from_status", as: String?.self),
                    toStatus: try row.decode("to_status", as: String?.self), status: try row.decode("status", as: String?.self),
                    carrier: try row.decode("carrier", as: String?.self),
                    trackingNumber: try row.decode("tracking_number", as: String?.self),
                    eventCode: try row.decode("event_code", as: String?.self), location: try row.decode("location", as: String?.self),
                    text: try row.decode("description", as: String?.self), source: try row.decode("source", as: String?.self),
                    runId: try row.decode("run_id", as: Int64?.self))
            }
        }
    }

    static func historyQuery(_ id: UUID) -> PostgresQuery {
        """
        SELECT at, origin, kind, from_status, to_status, status, carrier, tracking_number, event_code, location,
               description, source, run_id
        FROM (
            SELECT coalesce(event_at, recorded_at) AS at, 'order' AS origin, 0 AS rank, id, NULL::text AS code,
                   kind, from_status, to_status, NULL::text AS status, tracking_company AS carrier, tracking_number,
                   event_code, location, description, source, run_id
            FROM order_events WHERE order_id = \(id)
            UNION ALL
            SELECT event_at, 'carrier', 1, NULL::bigint, event_code,
                   'carrier_event', NULL, NULL, status, nullif(carrier, ''), tracking_number,
                   event_code, location, description, NULL, run_id
            FROM shipment_events WHERE order_id = \(id)
        ) e
        ORDER BY at, rank, id, code, carrier, tracking_number
        """
    }
}
