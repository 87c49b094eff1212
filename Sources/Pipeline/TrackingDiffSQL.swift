import OrderModel

/// The set-based SQL of a tracking run: the staged events, their match to orders, the latest
/// event per order, and the statements that apply it. Parameters are always bound (`$n`); the
/// only text spliced in is this file's own.
///
/// Fate of an accepted event: matched to one order, or rejected (`unknown_shipment`,
/// `ambiguous_shipment`). A matched event is informational (its code maps to no status), stale
/// (not newer than the order's `status_event_at`), superseded (a later event of the same order
/// wins), or the order's winner: a status change, a confirmation of the current status (only
/// `status_event_at` moves), or an `illegal_transition` reject.
enum TrackingDiffSQL {
    /// Rows arrive in this column order (see `TrackingRowEncoder`).
    static let createEvents = """
        CREATE TEMP TABLE stage_events (
            pos bigint NOT NULL, carrier text, tracking_number text, event_code text, status text, rank smallint,
            event_us bigint, order_id uuid, external_ref text, location text, description text,
            reject_reason text, reject_message text
        ) ON COMMIT DROP
        """

    static let copyEvents = "COPY stage_events FROM STDIN"

    /// Semantic rejects found by the diff (the reader's own rejects stay in `stage_events`).
    static let createRejects = "CREATE TEMP TABLE stage_rejects (pos bigint NOT NULL, reason text NOT NULL, message text NOT NULL) ON COMMIT DROP"

    /// Same-instant events are ordered by how far along their status is (`progressRank`).
    static let currentRank = "(array_position(ARRAY[\(OrderStatus.allCases.sorted { $0.progressRank < $1.progressRank }.map { "'\($0.rawValue)'" }.joined(separator: ","))]::text[], o.status) - 1)"

    /// The columns every match row carries: the event, its order's current state, and whether
    /// the event is stale against it.
    private static let matchColumns = """
        e.pos, e.carrier, e.tracking_number, e.event_code, e.status, e.rank,
        timestamptz 'epoch' + e.event_us * interval '1 microsecond' AS event_at,
        e.location, e.description, o.id AS target_id, o.status AS cur_status, o.status_event_at AS cur_event_at,
        o.tracking_company AS cur_company, o.tracking_number AS cur_number, o.updated_at AS cur_updated_at,
        coalesce(o.status_event_at IS NOT NULL AND (timestamptz 'epoch' + e.event_us * interval '1 microsecond' < o.status_event_at
            OR (timestamptz 'epoch' + e.event_us * interval '1 microsecond' = o.status_event_at AND e.rank <= \(currentRank))), true) AS stale
        """

    /// Events that name their order ($1 source): by id, else by (source, external_ref).
    static let matchByReference = """
        CREATE TEMP TABLE stage_matches ON COMMIT DROP AS
        SELECT \(matchColumns), true AS by_ref
        FROM stage_events e JOIN orders o ON o.id = e.order_id
        WHERE e.reject_reason IS NULL AND e.order_id IS NOT NULL
        UNION ALL
        SELECT \(matchColumns), true
        FROM stage_events e JOIN orders o ON o.source = $1 AND o.external_ref = e.external_ref
        WHERE e.reject_reason IS NULL AND e.order_id IS NULL AND e.external_ref IS NOT NULL
        """

    /// Events that name only a shipment: by (carrier, tracking number) on the order, or on an
    /// order this same feed attaches that number to (an event with a reference and a number).
    static let matchByTracking = """
        INSERT INTO stage_matches
        SELECT \(matchColumns), false
        FROM stage_events e JOIN orders o ON o.tracking_company = e.carrier AND o.tracking_number = e.tracking_number
        WHERE e.reject_reason IS NULL AND e.order_id IS NULL AND e.external_ref IS NULL
        UNION ALL
        SELECT \(matchColumns), false
        FROM stage_events e
        JOIN (SELECT DISTINCT m.target_id, m.carrier, m.tracking_number FROM stage_matches m
              WHERE m.tracking_number IS NOT NULL
                AND (m.cur_company IS DISTINCT FROM m.carrier OR m.cur_number IS DISTINCT FROM m.tracking_number)
             ) a ON a.carrier = e.carrier AND a.tracking_number = e.tracking_number
        JOIN orders o ON o.id = a.target_id
        WHERE e.reject_reason IS NULL AND e.order_id IS NULL AND e.external_ref IS NULL
        """

    /// A tracking number on several orders names no single order: never guess which.
    static let rejectAmbiguous = """
        WITH dup AS (
            SELECT pos, count(*) AS n FROM stage_matches WHERE NOT by_ref GROUP BY pos HAVING count(*) > 1
        ), gone AS (
            DELETE FROM stage_matches m USING dup WHERE m.pos = dup.pos
        )
        INSERT INTO stage_rejects (pos, reason, message)
        SELECT dup.pos, 'ambiguous_shipment', format('%s tracking number %s is on %s orders; name the order (order_id or external_ref)',
                                                     e.carrier, e.tracking_number, dup.n)
        FROM dup JOIN stage_events e USING (pos)
        """

    /// The latest event with a status per order, unless stale; ties broken by status progress,
    /// then event code, then feed position (so the same events always pick the same winner).
    /// Its move is legal directly from the order's status, or through one status an earlier
    /// event of the feed shows. $1: enforce transitions.
    static let winners = """
        CREATE TEMP TABLE stage_winners ON COMMIT DROP AS
        SELECT w.*,
               CASE WHEN w.status = w.cur_status THEN 'confirm'
                    WHEN NOT $1::boolean OR EXISTS (SELECT 1 FROM order_status_transition t
                                                   WHERE t.from_status = w.cur_status AND t.to_status = w.status) THEN 'change'
                    -- Reached through a status an earlier event of the same feed shows: evidence,
                    -- not a guess (processing → delivered → returned). Evaluated only when the
                    -- direct move is not allowed, as one hashed pass over the matches.
                    WHEN (w.target_id, w.status) IN (
                        SELECT m.target_id, t2.to_status FROM stage_matches m
                        JOIN order_status_transition t1 ON t1.from_status = m.cur_status AND t1.to_status = m.status
                        JOIN order_status_transition t2 ON t2.from_status = m.status
                        WHERE NOT m.stale) THEN 'change'
                    ELSE 'reject' END AS outcome
        FROM (SELECT DISTINCT ON (target_id) * FROM stage_matches
              WHERE status IS NOT NULL AND NOT stale
              ORDER BY target_id, event_at DESC, rank DESC, event_code DESC, pos DESC) w
        """

    static let rejectIllegal = """
        INSERT INTO stage_rejects (pos, reason, message)
        SELECT pos, 'illegal_transition', format('order %s cannot move from %s to %s (event %s at %s)',
                                                 target_id, cur_status, status, event_code, event_at)
        FROM stage_winners WHERE outcome = 'reject'
        """

    /// The tracking number an event with an order reference gives its order: the latest such
    /// event's, when the order has none, or when the event is not stale and the number differs.
    static let shipping = """
        CREATE TEMP TABLE stage_shipping ON COMMIT DROP AS
        SELECT * FROM (
            SELECT DISTINCT ON (target_id) * FROM stage_matches
            WHERE by_ref AND tracking_number IS NOT NULL
            ORDER BY target_id, event_at DESC, rank DESC NULLS LAST, event_code DESC, pos DESC
        ) s
        WHERE s.cur_number IS NULL OR (NOT s.stale AND (s.cur_company IS DISTINCT FROM s.carrier OR s.cur_number <> s.tracking_number))
        """

    /// Staged events, and the reader's own rejects among them.
    static let stagedCounts = "SELECT count(*) AS records, count(reject_reason) AS row_rejected FROM stage_events"

    /// Matched events per carrier: informational, stale (the rest are winners or superseded).
    static let matchesByCarrier = """
        SELECT carrier, count(*) AS matched, count(*) FILTER (WHERE status IS NULL) AS informational,
               count(*) FILTER (WHERE status IS NOT NULL AND stale) AS stale
        FROM stage_matches GROUP BY carrier
        """

    static let winnersByCarrierAndStatus = """
        SELECT carrier, status, outcome, count(*) AS n FROM stage_winners GROUP BY carrier, status, outcome
        """

    /// Every rejected event, in input order: the reader's rejects, events matching no order,
    /// and the diff's own (ambiguous shipments, illegal transitions).
    static let rejectList = """
        COPY (
            SELECT pos, reason, message FROM (
                SELECT pos, reject_reason AS reason, reject_message AS message FROM stage_events WHERE reject_reason IS NOT NULL
                UNION ALL
                SELECT e.pos, 'unknown_shipment',
                       CASE WHEN e.order_id IS NOT NULL THEN format('no order has id %s', e.order_id)
                            WHEN e.external_ref IS NOT NULL THEN format('no order of this source has external_ref %s', e.external_ref)
                            ELSE format('no order has %s tracking number %s', e.carrier, e.tracking_number) END
                FROM stage_events e
                WHERE e.reject_reason IS NULL
                  AND NOT EXISTS (SELECT 1 FROM stage_matches m WHERE m.pos = e.pos)
                  AND NOT EXISTS (SELECT 1 FROM stage_rejects r WHERE r.pos = e.pos AND r.reason = 'ambiguous_shipment')
                UNION ALL
                SELECT pos, reason, message FROM stage_rejects
            ) r ORDER BY pos
        ) TO STDOUT
        """

    // MARK: Apply ($1 source, $2 run id, $3 now)

    /// Status and `status_event_at` from the winners; nothing else is touched. A row changed by
    /// another writer since the diff (`updated_at` moved) is left alone, and the run, seeing
    /// fewer rows than it expected, fails instead of overwriting that change.
    static let updateStatus = """
        UPDATE orders o SET status = w.status, status_event_at = w.event_at, updated_at = $3::timestamptz
        FROM stage_winners w
        WHERE o.id = w.target_id AND w.outcome IN ('change', 'confirm') AND o.updated_at = w.cur_updated_at
        """

    static let updateShipping = """
        UPDATE orders o SET tracking_company = s.carrier, tracking_number = s.tracking_number, updated_at = $3::timestamptz
        FROM stage_shipping s
        WHERE o.id = s.target_id AND (o.updated_at = s.cur_updated_at OR o.updated_at = $3::timestamptz)
        """

    static let insertStatusEvents = """
        INSERT INTO order_events (order_id, run_id, source, kind, from_status, to_status, tracking_company,
                                  tracking_number, event_code, location, description, event_at, recorded_at)
        SELECT target_id, $2, $1, 'status_changed', cur_status, status, carrier, tracking_number, event_code,
               location, description, event_at, $3::timestamptz
        FROM stage_winners WHERE outcome = 'change'
        """

    static let insertShippingEvents = """
        INSERT INTO order_events (order_id, run_id, source, kind, tracking_company, tracking_number, event_code,
                                  location, description, event_at, recorded_at)
        SELECT target_id, $2, $1, 'shipping_updated', carrier, tracking_number, event_code, location, description,
               event_at, $3::timestamptz
        FROM stage_shipping
        """
}
