import OrderModel

/// The set-based SQL of carrier events (docs/tracking.md, "Semantics"): the staged events and
/// the held ones, their match to shipments and orders, the winning event per shipment, the
/// order status its shipments give, and the counts (the statements that apply it are in
/// TrackingApplySQL.swift). Parameters are always
/// bound (`$n`); the only text spliced in is this file's own.
///
/// Fate of a staged event: rejected by the reader, matched (to one or more shipments or
/// orders), held (matches nothing yet), or rejected by the diff (`ambiguous_shipment` when the
/// pipeline asks for it, `unknown_shipment` when holding is off). A match is informational (no
/// status), stale, superseded, or the winner of its shipment (or of its order, for an event
/// with no tracking number): a change, a confirmation, or an `illegal_transition` reject.
enum TrackingDiffSQL {
    /// Rows arrive in the column order of `copyEvents` (see `TrackingRowEncoder`). Held events
    /// re-staged by `restageHeld` have a negative position, their `held_id` and their own source.
    static let createEvents = """
        CREATE TEMP TABLE stage_events (
            pos bigint NOT NULL, carrier text, tracking_number text, event_code text, status text, rank smallint,
            event_us bigint, order_id uuid, external_ref text, location text, description text,
            line_no integer, quantity integer, reject_reason text, reject_message text, held_id bigint, src text
        ) ON COMMIT DROP
        """

    static let copyEvents = """
        COPY stage_events (pos, carrier, tracking_number, event_code, status, rank, event_us, order_id, external_ref,
                           location, description, line_no, quantity, reject_reason, reject_message) FROM STDIN
        """

    /// Semantic rejects found by the diff (the reader's own rejects stay in `stage_events`).
    static let createRejects = "CREATE TEMP TABLE stage_rejects (pos bigint NOT NULL, target_id uuid, reason text NOT NULL, message text NOT NULL) ON COMMIT DROP"

    /// A match not rejected: an event of a consolidated shipment rejected for one order still
    /// applies to the others (`target_id` NULL: rejected for every order).
    static func notRejected(_ m: String) -> String {
        "NOT EXISTS (SELECT 1 FROM stage_rejects r WHERE r.pos = \(m).pos AND (r.target_id IS NULL OR r.target_id = \(m).target_id))"
    }

    /// Held events are staged at positions below every feed line, in the order they were held,
    /// so "the later record wins" puts them before this run's records.
    static let heldBase: Int64 = -(1 << 62)

    /// Statuses in progress order: same-instant events are ordered by how far along they are.
    static let rankArray = "ARRAY[\(OrderStatus.allCases.sorted { $0.progressRank < $1.progressRank }.map { "'\($0.rawValue)'" }.joined(separator: ","))]::text[]"
    static func rank(_ expression: String) -> String { "(array_position(\(rankArray), \(expression)) - 1)" }

    /// Held events not yet expired join this run's events ($1 now), so a shipment or order that
    /// appeared since they were held gets them with their original times.
    static let restageHeld = """
        INSERT INTO stage_events (pos, carrier, tracking_number, event_code, status, rank, event_us, order_id, external_ref,
                                  location, description, line_no, quantity, held_id, src)
        SELECT \(heldBase) + h.id, h.carrier, h.tracking_number, h.event_code, h.status, \(rank("h.status")),
               (extract(epoch FROM h.event_at) * 1000000)::bigint, h.order_id, h.external_ref, h.location, h.description,
               h.line_no, h.quantity, h.id, h.source
        FROM held_events h WHERE h.expires_at > $1::timestamptz
        """

    static let heldCounts = """
        SELECT count(*) FILTER (WHERE expires_at <= $1::timestamptz) AS expired FROM held_events
        """

    /// The columns every match row carries: the event, its order's and its shipment's current
    /// state, the status it moves from, and whether it is stale against that.
    /// `lvl`: `shipment` or `order` (docs/tracking.md, Semantics 1).
    private static func matchColumns(shipment s: String, byRef: Bool) -> String {
        let at = "(timestamptz 'epoch' + e.event_us * interval '1 microsecond')"
        // An event with no tracking number, or mapped to a status no shipment has (processing,
        // cancelled), acts on its order.
        let orderLevel = "(e.tracking_number IS NULL OR e.status IN ('processing', 'cancelled'))"
        let lvl = "CASE WHEN \(orderLevel) THEN 'order' ELSE 'shipment' END"
        // A cancelled or returned order takes no carrier event: its status is where every
        // event of it moves from, and nothing may leave it.
        let from = """
            CASE WHEN \(orderLevel) OR o.status IN ('cancelled', 'returned') THEN o.status
                 ELSE coalesce(\(s).status, 'shipped') END
            """
        let curAt = "CASE WHEN \(orderLevel) THEN o.status_event_at ELSE \(s).status_event_at END"
        return """
            e.pos, e.held_id, e.carrier, e.tracking_number, e.event_code, e.status, e.rank, \(at) AS event_at,
            e.location, e.description, e.line_no, e.quantity, \(lvl) AS lvl, o.id AS target_id, o.status AS cur_status,
            o.status_event_at AS cur_event_at, o.updated_at AS cur_updated_at,
            \(s).id AS ship_id, \(from) AS from_status,
            coalesce(\(curAt) IS NOT NULL AND (\(at) < \(curAt)
                OR (\(at) = \(curAt) AND e.rank <= \(rank(from)))), false) AS stale,
            \(byRef) AS by_ref
            """
    }

    /// Events that name their order ($1 the run's source): by id, else by (source, external_ref);
    /// with a tracking number, the order's shipment with that number (NULL: a new one).
    static let matchByReference = """
        CREATE TEMP TABLE stage_matches ON COMMIT DROP AS
        SELECT \(matchColumns(shipment: "s", byRef: true))
        FROM stage_events e JOIN orders o ON o.id = e.order_id
        LEFT JOIN shipments s ON s.order_id = o.id AND s.carrier = e.carrier AND s.tracking_number = e.tracking_number
        WHERE e.reject_reason IS NULL AND e.order_id IS NOT NULL
        UNION ALL
        SELECT \(matchColumns(shipment: "s", byRef: true))
        FROM stage_events e JOIN orders o ON o.source = coalesce(e.src, $1) AND o.external_ref = e.external_ref
        LEFT JOIN shipments s ON s.order_id = o.id AND s.carrier = e.carrier AND s.tracking_number = e.tracking_number
        WHERE e.reject_reason IS NULL AND e.order_id IS NULL AND e.external_ref IS NOT NULL
        """

    /// Events that name only a shipment: every shipment with that (carrier, tracking number) —
    /// within the window ($1 days) before its first and after its last event, so a reused
    /// number matches only its own shipment — and the shipments this same feed adds (an event with a reference and a number).
    static let matchByTracking = """
        INSERT INTO stage_matches
        SELECT \(matchColumns(shipment: "s", byRef: false))
        FROM stage_events e JOIN shipments s ON s.tracking_number = e.tracking_number AND s.carrier = e.carrier
        JOIN orders o ON o.id = s.order_id
        WHERE e.reject_reason IS NULL AND e.order_id IS NULL AND e.external_ref IS NULL
          AND timestamptz 'epoch' + e.event_us * interval '1 microsecond'
              BETWEEN coalesce(s.shipped_at, s.created_at) - $1::integer * interval '1 day'
                  AND coalesce(s.status_event_at, s.shipped_at, s.created_at) + $1::integer * interval '1 day'
        UNION ALL
        SELECT \(matchColumns(shipment: "s", byRef: false))
        FROM stage_events e
        JOIN (SELECT DISTINCT m.target_id, m.carrier, m.tracking_number FROM stage_matches m
              WHERE m.tracking_number IS NOT NULL AND m.ship_id IS NULL AND m.cur_status NOT IN ('cancelled', 'returned')) a
          ON a.tracking_number = e.tracking_number AND a.carrier = e.carrier
        JOIN orders o ON o.id = a.target_id
        LEFT JOIN shipments s ON false
        WHERE e.reject_reason IS NULL AND e.order_id IS NULL AND e.external_ref IS NULL
        """

    /// `shared_tracking: reject`: a tracking number on several orders names no single order.
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

    /// The latest non-stale event with a status per shipment (per order for events without a
    /// tracking number); ties broken by status progress, then event code, then position (so the
    /// same events always pick the same winner). Legal directly from the status it moves from,
    /// or through one status an earlier event of the same shipment shows. $1: enforce transitions.
    static let winners = """
        CREATE TEMP TABLE stage_winners ON COMMIT DROP AS
        SELECT w.*,
               CASE WHEN w.lvl = 'shipment' AND w.ship_id IS NULL AND w.cur_status IN ('cancelled', 'returned') THEN 'reject'
                    WHEN w.status = w.from_status THEN 'confirm'
                    WHEN NOT $1::boolean OR EXISTS (SELECT 1 FROM order_status_transition t
                                                   WHERE t.from_status = w.from_status AND t.to_status = w.status) THEN 'change'
                    -- Reached through a status an earlier event of the same shipment shows:
                    -- evidence, not a guess (processing → delivered → returned).
                    WHEN (w.target_id, w.lvl, coalesce(w.carrier, ''), coalesce(w.tracking_number, ''), w.status) IN (
                        SELECT m.target_id, m.lvl, coalesce(m.carrier, ''), coalesce(m.tracking_number, ''), t2.to_status FROM stage_matches m
                        JOIN order_status_transition t1 ON t1.from_status = m.from_status AND t1.to_status = m.status
                        JOIN order_status_transition t2 ON t2.from_status = m.status
                        WHERE NOT m.stale) THEN 'change'
                    ELSE 'reject' END AS outcome
        FROM (SELECT DISTINCT ON (target_id, lvl, carrier, tracking_number) *
              -- The window's order is the DISTINCT ON's, so one sort serves both.
              FROM (SELECT *, min(event_at) OVER (PARTITION BY target_id, lvl, carrier, tracking_number
                                                  ORDER BY event_at DESC, rank DESC, event_code COLLATE "C" DESC, pos DESC
                                                  ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS first_at
                    FROM stage_matches) x
              WHERE status IS NOT NULL AND NOT stale
              ORDER BY target_id, lvl, carrier, tracking_number, event_at DESC, rank DESC, event_code COLLATE "C" DESC, pos DESC) w
        """

    /// The shipments this run adds: a (carrier, tracking number) an event naming its order
    /// carries that the order does not have yet — unless the order is cancelled or returned, or
    /// the shipment's winning event is rejected. Shipped at its earliest event.
    static let attach = """
        CREATE TEMP TABLE stage_attach ON COMMIT DROP AS
        SELECT a.*, (SELECT min(x.event_at) FROM stage_matches x WHERE x.target_id = a.target_id AND x.carrier = a.carrier
                     AND x.tracking_number = a.tracking_number AND \(notRejected("x"))) AS shipped_at
        FROM (
            SELECT DISTINCT ON (m.target_id, m.carrier, m.tracking_number)
                   m.target_id, m.carrier, m.tracking_number, m.pos AS first_pos, m.event_code, m.location, m.description, m.cur_updated_at
            FROM stage_matches m
            WHERE m.by_ref AND m.tracking_number IS NOT NULL AND m.ship_id IS NULL AND m.cur_status NOT IN ('cancelled', 'returned')
              AND \(notRejected("m"))
              AND NOT EXISTS (SELECT 1 FROM stage_winners w WHERE w.target_id = m.target_id AND w.lvl = 'shipment'
                              AND w.carrier = m.carrier AND w.tracking_number = m.tracking_number AND w.outcome = 'reject')
            ORDER BY m.target_id, m.carrier, m.tracking_number, m.event_at, m.pos
        ) a
        """

    /// A cancelled or returned order takes no new shipment: a record without a status that
    /// would add one is rejected too (one with a status is its shipment's winner's to reject).
    static let rejectTerminalAttach = """
        INSERT INTO stage_rejects (pos, target_id, reason, message)
        SELECT pos, target_id, 'illegal_transition', format('order %s is %s and takes no new shipment (%s %s)', target_id, cur_status, carrier, tracking_number)
        FROM stage_matches
        WHERE by_ref AND tracking_number IS NOT NULL AND ship_id IS NULL AND status IS NULL AND cur_status IN ('cancelled', 'returned')
        """

    /// A ship confirmation's line must be a line of its order, and carry no more than it has.
    static let rejectInvalidLine = """
        INSERT INTO stage_rejects (pos, target_id, reason, message)
        SELECT m.pos, m.target_id, 'invalid_line',
               CASE WHEN i.order_id IS NULL THEN format('order %s has no line %s', m.target_id, m.line_no)
                    ELSE format('line %s of order %s has quantity %s; a shipment cannot carry %s of it', m.line_no, m.target_id, i.quantity, m.quantity) END
        FROM stage_matches m LEFT JOIN order_items i ON i.order_id = m.target_id AND i.line_no = m.line_no
        WHERE m.line_no IS NOT NULL AND (i.order_id IS NULL OR m.quantity > i.quantity)
        """

    static let rejectIllegal = """
        INSERT INTO stage_rejects (pos, target_id, reason, message)
        SELECT pos, target_id, 'illegal_transition',
               CASE WHEN lvl = 'shipment' AND cur_status IN ('cancelled', 'returned')
                    THEN format('order %s is %s and takes no carrier events (event %s at %s)', target_id, cur_status, event_code, event_at)
                    WHEN lvl = 'shipment'
                    THEN format('shipment %s %s of order %s cannot move from %s to %s (event %s at %s)', carrier, tracking_number,
                                target_id, from_status, status, event_code, event_at)
                    ELSE format('order %s cannot move from %s to %s (event %s at %s)', target_id, from_status, status, event_code, event_at) END
        FROM stage_winners WHERE outcome = 'reject'
        """

    /// The status each touched order gets from its shipments (docs/tracking.md, "Order status
    /// from shipments"): returned when every shipment is, delivered when every one is delivered
    /// or returned, else the furthest-along status of those still on their way. A shipment
    /// without a status counts as shipped. The order moves there when the move is legal (or
    /// transitions are not enforced, $1); else it keeps its status (`kept`).
    /// `confirmations`: whether ship confirmations are staged (a shipments feed, or held ones);
    /// without them their branches would scan every match for nothing.
    static func orderStatus(confirmations: Bool) -> String {
        let confirmed = "m.event_code = 'ship_confirmation' AND m.ship_id IS NOT NULL AND \(notRejected("m"))"
        return """
        CREATE TEMP TABLE stage_order_status ON COMMIT DROP AS
        WITH moved AS (
            SELECT target_id, carrier, tracking_number, status, event_at, rank, event_code, pos, location, description
            FROM stage_winners WHERE lvl = 'shipment' AND outcome IN ('change', 'confirm')
        ), touched AS (
            SELECT target_id FROM moved UNION SELECT target_id FROM stage_attach
            -- A ship confirmation of an existing shipment ships a processing order too.
            \(confirmations ? "UNION SELECT m.target_id FROM stage_matches m WHERE \(confirmed)" : "")
        ), ship AS (
            SELECT s.order_id, coalesce(m.status, s.status, 'shipped') AS st
            FROM shipments s JOIN touched t ON t.target_id = s.order_id
            LEFT JOIN moved m ON m.target_id = s.order_id AND m.carrier = s.carrier AND m.tracking_number = s.tracking_number
            UNION ALL
            SELECT a.target_id, coalesce(m.status, 'shipped')
            FROM stage_attach a
            LEFT JOIN moved m ON m.target_id = a.target_id AND m.carrier = a.carrier AND m.tracking_number = a.tracking_number
        ), agg AS (
            SELECT order_id,
                   CASE WHEN bool_and(st = 'returned') THEN 'returned'
                        WHEN bool_and(st IN ('delivered', 'returned')) THEN 'delivered'
                        -- The furthest along as its rank (a hash aggregate, no sort per order).
                        ELSE (\(rankArray))[1 + max(\(rank("st"))) FILTER (WHERE st NOT IN ('delivered', 'returned'))] END AS status
            FROM ship GROUP BY order_id
        ), evidence AS (
            SELECT target_id, carrier, tracking_number, status, event_at, rank, event_code, pos, location, description FROM moved
            UNION ALL
            SELECT target_id, carrier, tracking_number, 'shipped', shipped_at, 1::smallint, event_code, first_pos, location, description FROM stage_attach
            \(confirmations ? """
            UNION ALL
            SELECT target_id, carrier, tracking_number, 'shipped', event_at, 1::smallint, event_code, pos, location, description FROM stage_matches m
            WHERE \(confirmed)
            """ : "")
        ), decisive AS (
            -- The event behind the order's new status: the latest that shows it, else the latest.
            SELECT DISTINCT ON (e.target_id) e.* FROM evidence e JOIN agg a ON a.order_id = e.target_id
            ORDER BY e.target_id, (e.status = a.status) DESC, e.event_at DESC, e.rank DESC, e.event_code COLLATE "C" DESC, e.pos DESC
        )
        SELECT o.id AS target_id, o.status AS cur_status, o.updated_at AS cur_updated_at, o.status_event_at AS cur_event_at,
               a.status, d.event_at, d.carrier, d.tracking_number, d.event_code, d.location, d.description,
               CASE WHEN a.status = o.status THEN 'same'
                    WHEN NOT $1::boolean OR EXISTS (SELECT 1 FROM order_status_transition t
                                                   WHERE t.from_status = o.status AND t.to_status = a.status) THEN 'change'
                    -- Through a status an event of its shipments shows, as for a shipment.
                    WHEN (o.id, a.status) IN (
                        SELECT m.target_id, t2.to_status FROM stage_matches m
                        JOIN order_status_transition t1 ON t1.from_status = m.cur_status AND t1.to_status = m.status
                        JOIN order_status_transition t2 ON t2.from_status = m.status
                        WHERE NOT m.stale) THEN 'change'
                    ELSE 'kept' END AS outcome
        FROM agg a JOIN orders o ON o.id = a.order_id LEFT JOIN decisive d ON d.target_id = a.order_id
        """
    }

    static let anyConfirmation = "SELECT EXISTS (SELECT 1 FROM stage_events WHERE event_code = 'ship_confirmation') AS any"

    /// An order's shipments decide its status: an event without a tracking number for an
    /// order whose shipments move in this run is outranked by them.
    static let supersedeOrderLevel = """
        UPDATE stage_winners w SET outcome = 'superseded'
        WHERE w.lvl = 'order' AND w.outcome IN ('change', 'confirm', 'reject')
          AND EXISTS (SELECT 1 FROM stage_order_status s WHERE s.target_id = w.target_id)
        """

    /// Staged events, the reader's own rejects among them, and the held ones re-staged.
    static let stagedCounts = """
        SELECT count(*) FILTER (WHERE pos > 0) AS records, count(reject_reason) AS row_rejected,
               count(*) FILTER (WHERE pos < 0) AS restaged
        FROM stage_events
        """

    /// Matches per carrier: feed events matched, informational, stale; held events released.
    static let matchesByCarrier = """
        SELECT carrier, count(DISTINCT pos) FILTER (WHERE pos > 0) AS matched_events, count(*) AS matches,
               count(*) FILTER (WHERE status IS NULL) AS informational,
               count(*) FILTER (WHERE status IS NOT NULL AND stale) AS stale,
               count(DISTINCT held_id) AS released
        FROM stage_matches GROUP BY carrier
        """

    static let winnersByCarrierAndStatus = """
        SELECT carrier, status, lvl, outcome, count(*) AS n, count(*) FILTER (WHERE pos < 0) AS released
        FROM stage_winners GROUP BY carrier, status, lvl, outcome
        """

    static let orderStatusCounts = """
        SELECT count(*) FILTER (WHERE outcome = 'kept') AS kept,
               count(*) FILTER (WHERE outcome IN ('change', 'same'))
               + (SELECT count(*) FROM stage_winners WHERE lvl = 'order' AND outcome IN ('change', 'confirm')) AS touched
        FROM stage_order_status
        """

    /// Matches whose event belongs in a shipment's event log: every event with a tracking
    /// number on a shipment that exists or is added, except a rejected one.
    static let logged = """
        m.tracking_number IS NOT NULL
          AND (m.ship_id IS NOT NULL OR EXISTS (SELECT 1 FROM stage_attach a WHERE a.target_id = m.target_id
                                                AND a.carrier = m.carrier AND a.tracking_number = m.tracking_number))
          AND \(notRejected("m"))
        """

    /// Events new to the shipment event log (re-fed events are already in it).
    static let newEventCount = """
        SELECT count(*) AS n FROM (
            SELECT DISTINCT m.target_id, m.carrier, m.tracking_number, m.event_code, m.event_at FROM stage_matches m
            WHERE \(logged)
              AND NOT EXISTS (SELECT 1 FROM shipment_events x WHERE x.order_id = m.target_id AND x.carrier = m.carrier
                              AND x.tracking_number = m.tracking_number AND x.event_code = m.event_code AND x.event_at = m.event_at)
        ) n
        """

    /// Feed events that match nothing: held (or rejected `unknown_shipment` when holding is off).
    static let unmatched = """
        FROM stage_events e
        WHERE e.pos > 0 AND e.reject_reason IS NULL
          AND NOT EXISTS (SELECT 1 FROM stage_matches m WHERE m.pos = e.pos)
          AND NOT EXISTS (SELECT 1 FROM stage_rejects r WHERE r.pos = e.pos)
        """

    static let unmatchedCount = "SELECT count(*) AS n \(unmatched)"

    /// Feed events the diff rejected (one event may be rejected for several orders).
    static let diffRejectedCount = "SELECT count(DISTINCT pos) AS n FROM stage_rejects WHERE pos > 0"

    /// Orders moved to each status (by their shipments or by an event without a tracking number).
    static let ordersChangedByStatus = """
        SELECT status, count(*) AS n FROM (
            SELECT status FROM stage_order_status WHERE outcome = 'change'
            UNION ALL SELECT status FROM stage_winners WHERE lvl = 'order' AND outcome = 'change'
        ) c GROUP BY status
        """

    /// Every rejected event of this run's feeds, in input order: the reader's rejects, the
    /// diff's (illegal transitions, ambiguous shipments) and, when holding is off, events that
    /// match nothing. A held event that is rejected on release is counted, not listed: it is
    /// not a line of these feeds.
    static func rejectList(holding: Bool) -> String {
        let unknown = holding ? "" : """
            UNION ALL
            SELECT e.pos, 'unknown_shipment',
                   CASE WHEN e.order_id IS NOT NULL THEN format('no order has id %s', e.order_id)
                        WHEN e.external_ref IS NOT NULL THEN format('no order of this source has external_ref %s', e.external_ref)
                        ELSE format('no order has %s tracking number %s', e.carrier, e.tracking_number) END
            \(unmatched)
            """
        return """
            COPY (
                SELECT pos, reason, message FROM (
                    SELECT pos, reject_reason AS reason, reject_message AS message FROM stage_events WHERE reject_reason IS NOT NULL
                    UNION ALL
                    SELECT DISTINCT ON (pos) pos, reason, message FROM stage_rejects WHERE pos > 0
                    \(unknown)
                ) r ORDER BY pos
            ) TO STDOUT
            """
    }

    static let shipmentLineCount = """
        SELECT count(*) AS n FROM (
            SELECT DISTINCT m.target_id, m.carrier, m.tracking_number, m.line_no FROM stage_matches m
            WHERE m.line_no IS NOT NULL AND \(notRejected("m"))
        ) l
        """

    /// Ambiguous events among this run's feeds, and among the held events (rejected on release).
    static let ambiguousCounts = """
        SELECT count(*) FILTER (WHERE pos > 0) AS feed, count(*) FILTER (WHERE pos < 0) AS held
        FROM stage_rejects WHERE reason = 'ambiguous_shipment'
        """
}
