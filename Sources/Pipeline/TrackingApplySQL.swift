/// The statements that apply a diff of carrier events (see `TrackingDiffSQL`): shipments, their
/// lines and event log, the orders' status and tracking fields, history, and held events.
extension TrackingDiffSQL {
    // Parameters: $1 source, $2 run id, $3 now, $4 pipeline, $5 hold days.

    /// Which lines and quantities each shipment carries (the last record of a line wins).
    private static let shipmentLineRows = """
        SELECT DISTINCT ON (m.target_id, s.id, m.line_no) m.target_id, s.id, m.line_no, m.quantity
        FROM stage_matches m JOIN shipments s ON s.order_id = m.target_id AND s.carrier = m.carrier AND s.tracking_number = m.tracking_number
        WHERE m.line_no IS NOT NULL AND \(notRejected("m"))
        ORDER BY m.target_id, s.id, m.line_no, m.pos DESC
        """

    static let insertShipmentLines = """
        INSERT INTO shipment_lines (order_id, shipment_id, line_no, quantity)
        \(shipmentLineRows)
        ON CONFLICT (order_id, shipment_id, line_no) DO UPDATE SET quantity = EXCLUDED.quantity, change_xid = pg_current_xact_id()
            WHERE shipment_lines.quantity <> EXCLUDED.quantity -- an unchanged line is no change (incremental exports)
        """

    /// A shipment's `shipped_at` is the earliest of its events and confirmations: this sets it
    /// for the shipments no winner of this run updates (`updateShipments` does the others).
    static let updateShippedAt = """
        UPDATE shipments s SET change_xid = pg_current_xact_id(), shipped_at = c.shipped_at, updated_at = $3::timestamptz
        FROM (SELECT target_id, carrier, tracking_number, min(event_at) AS shipped_at FROM stage_matches m
              WHERE m.tracking_number IS NOT NULL AND \(notRejected("m"))
                AND NOT EXISTS (SELECT 1 FROM stage_winners w WHERE w.target_id = m.target_id AND w.lvl = 'shipment'
                                AND w.carrier = m.carrier AND w.tracking_number = m.tracking_number AND w.outcome IN ('change', 'confirm'))
              GROUP BY target_id, carrier, tracking_number) c
        WHERE s.order_id = c.target_id AND s.carrier = c.carrier AND s.tracking_number = c.tracking_number
          AND s.shipped_at IS DISTINCT FROM least(s.shipped_at, c.shipped_at)
        """

    static let insertShipments = """
        INSERT INTO shipments (order_id, carrier, tracking_number, shipped_at, source, created_at, updated_at)
        SELECT target_id, carrier, tracking_number, shipped_at, $1, $3::timestamptz, $3::timestamptz FROM stage_attach
        ORDER BY target_id, shipped_at, first_pos -- ids in shipping order: the last shipped is the most recent
        """

    /// A shipment's status, time, delivery and ship times from its winner. A shipment changed
    /// by another writer since the diff (its number edited) is not found: the run then sees
    /// fewer rows than it expected and fails instead of applying what it did not check.
    static let updateShipments = """
        UPDATE shipments s SET change_xid = pg_current_xact_id(), status = w.status, status_event_at = w.event_at,
               delivered_at = CASE WHEN w.status = 'delivered' THEN w.event_at ELSE s.delivered_at END,
               shipped_at = least(s.shipped_at, w.first_at), updated_at = $3::timestamptz
        FROM stage_winners w
        WHERE w.lvl = 'shipment' AND w.outcome IN ('change', 'confirm')
          AND s.order_id = w.target_id AND s.carrier = w.carrier AND s.tracking_number = w.tracking_number
        """

    /// Orders whose shipments this run changes in any way the API shows (a status, a new
    /// shipment, an event, a line) get a new `updated_at`, so their ETag changes. Runs before
    /// the event log is written, which it compares with.
    static let touchOrders = """
        UPDATE orders o SET change_xid = pg_current_xact_id(), updated_at = $3::timestamptz
        WHERE o.updated_at <> $3::timestamptz AND o.id IN (
            SELECT target_id FROM stage_winners WHERE lvl = 'shipment' AND outcome IN ('change', 'confirm')
            UNION SELECT target_id FROM stage_attach
            UNION SELECT m.target_id FROM stage_matches m WHERE m.line_no IS NOT NULL AND \(notRejected("m"))
              AND NOT EXISTS (SELECT 1 FROM shipment_lines l JOIN shipments s ON s.order_id = l.order_id AND s.id = l.shipment_id
                              WHERE l.order_id = m.target_id AND s.carrier = m.carrier AND s.tracking_number = m.tracking_number
                                AND l.line_no = m.line_no AND l.quantity = m.quantity)
            UNION SELECT m.target_id FROM stage_matches m WHERE \(logged)
              AND NOT EXISTS (SELECT 1 FROM shipment_events x WHERE x.order_id = m.target_id AND x.carrier = m.carrier
                              AND x.tracking_number = m.tracking_number AND x.event_code = m.event_code AND x.event_at = m.event_at))
        """

    static let insertShipmentEvents = """
        INSERT INTO shipment_events (order_id, shipment_id, carrier, tracking_number, event_code, event_at, status,
                                     location, description, run_id, recorded_at)
        SELECT m.target_id, s.id, m.carrier, m.tracking_number, m.event_code, m.event_at, m.status, m.location,
               m.description, $2, $3::timestamptz
        FROM stage_matches m JOIN shipments s ON s.order_id = m.target_id AND s.carrier = m.carrier AND s.tracking_number = m.tracking_number
        WHERE \(logged)
        ON CONFLICT DO NOTHING
        """

    /// Attempts and the last exception, from the event log of every shipment this run touched.
    static let updateShipmentFacts = """
        UPDATE shipments s SET change_xid = pg_current_xact_id(), attempts = x.attempts, exception_code = x.code, exception_text = x.text
        FROM (
            SELECT e.order_id, e.shipment_id, count(*) FILTER (WHERE e.status = 'failed_attempt')::integer AS attempts,
                   (array_agg(e.event_code ORDER BY e.event_at DESC, e.event_code DESC) FILTER (WHERE e.status = 'exception'))[1] AS code,
                   (array_agg(e.description ORDER BY e.event_at DESC, e.event_code DESC) FILTER (WHERE e.status = 'exception'))[1] AS text
            FROM shipment_events e
            WHERE e.order_id IN (SELECT target_id FROM stage_matches WHERE tracking_number IS NOT NULL)
            GROUP BY e.order_id, e.shipment_id
        ) x
        WHERE s.order_id = x.order_id AND s.id = x.shipment_id
          AND (s.attempts, s.exception_code, s.exception_text) IS DISTINCT FROM (x.attempts, x.code, x.text)
        """

    /// Order status from its shipments (`change`), or from an event without a tracking number
    /// (order-level winners); `status_event_at` moves with every applied status. A row changed
    /// by another writer since the diff (`updated_at` moved) is left alone and the run fails.
    static let updateOrderStatus = """
        UPDATE orders o SET change_xid = pg_current_xact_id(), status = u.status, status_event_at = greatest(o.status_event_at, u.event_at), updated_at = $3::timestamptz
        FROM (
            SELECT target_id, status, event_at, cur_updated_at FROM stage_order_status WHERE outcome IN ('change', 'same')
            UNION ALL
            SELECT target_id, status, event_at, cur_updated_at FROM stage_winners WHERE lvl = 'order' AND outcome IN ('change', 'confirm')
        ) u
        WHERE o.id = u.target_id AND o.updated_at = u.cur_updated_at
        """

    /// The order's tracking fields are its most recent shipment's (the API's trackingCompany
    /// and trackingNumber).
    static let updateOrderTracking = """
        UPDATE orders o SET change_xid = pg_current_xact_id(), tracking_company = s.carrier, tracking_number = s.tracking_number, updated_at = $3::timestamptz
        FROM (SELECT DISTINCT ON (order_id) order_id, carrier, tracking_number FROM shipments
              WHERE order_id IN (SELECT target_id FROM stage_attach) ORDER BY order_id, id DESC) s
        WHERE o.id = s.order_id
        """

    static let insertStatusEvents = """
        INSERT INTO order_events (order_id, run_id, source, kind, from_status, to_status, tracking_company,
                                  tracking_number, event_code, location, description, event_at, recorded_at)
        SELECT target_id, $2, $1, 'status_changed', cur_status, status, carrier, tracking_number, event_code,
               location, description, event_at, $3::timestamptz
        FROM stage_order_status WHERE outcome = 'change'
        UNION ALL
        SELECT target_id, $2, $1, 'status_changed', cur_status, status, NULL, NULL, event_code,
               location, description, event_at, $3::timestamptz
        FROM stage_winners WHERE lvl = 'order' AND outcome = 'change'
        """

    static let insertShipmentAddedEvents = """
        INSERT INTO order_events (order_id, run_id, source, kind, tracking_company, tracking_number, event_code,
                                  location, description, event_at, recorded_at)
        SELECT target_id, $2, $1, 'shipment_added', carrier, tracking_number, event_code, location, description,
               shipped_at, $3::timestamptz
        FROM stage_attach
        """

    /// Feed events that match nothing are kept for $5 days; the same event held twice is one.
    static let holdEvents = """
        INSERT INTO held_events (pipeline, source, carrier, tracking_number, order_id, external_ref, event_code, status,
                                 event_at, location, description, line_no, quantity, run_id, held_at, expires_at)
        SELECT $4, $1, e.carrier, e.tracking_number, e.order_id, e.external_ref, e.event_code, e.status,
               timestamptz 'epoch' + e.event_us * interval '1 microsecond', e.location, e.description, e.line_no, e.quantity, $2,
               $3::timestamptz, $3::timestamptz + $5::integer * interval '1 day'
        \(unmatched)
        ORDER BY e.pos -- ids in feed order: a later record of the same line wins on release
        ON CONFLICT DO NOTHING
        """

    /// Held events that found their shipment or order (applied, or rejected, above).
    static let releaseHeld = """
        DELETE FROM held_events h
        WHERE h.id IN (SELECT held_id FROM stage_matches WHERE held_id IS NOT NULL
                       UNION SELECT pos - (\(heldBase)) FROM stage_rejects WHERE pos < 0)
        """

    static let expireHeld = "DELETE FROM held_events WHERE expires_at <= $3::timestamptz"
}
