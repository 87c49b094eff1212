/// The set-based SQL of an orders run: staging tables, the diff that classifies every staged
/// order, and the statements that apply it. Parameters are always bound (`$n`); the only text
/// spliced in is this file's own.
///
/// Outcomes of a staged order: `create`, `update`, `unchanged`, `delete`, or `reject` with a
/// reason. Changed parts of an update are flagged separately (status, shipping, items, other).
enum OrderDiffSQL {
    /// Staging rows arrive in this column order (see `StageRowEncoder`). TEMP + ON COMMIT DROP:
    /// no WAL, no cleanup, invisible to other sessions.
    static let createLines = """
        CREATE TEMP TABLE stage_lines (
            pos bigint NOT NULL, grp_lines integer, grp_repeat boolean, rec_first boolean NOT NULL, okey text,
            order_id uuid, external_ref text, new_id uuid, action text,
            customer_id text, status text, currency text, created_at timestamptz,
            tracking_company text, tracking_number text,
            line_no integer, product_id text, quantity integer, unit_price numeric,
            reject_reason text, reject_message text
        ) ON COMMIT DROP
        """

    static let copyLines = "COPY stage_lines FROM STDIN"

    static let createOrders = """
        CREATE TEMP TABLE stage_orders (
            okey text, order_id uuid, external_ref text, new_id uuid, first_pos bigint,
            action text, customer_id text, status text, currency text, created_at timestamptz,
            tracking_company text, tracking_number text, n_lines integer,
            conflict boolean, renumber boolean, has_reject boolean,
            target_id uuid, cur_status text, cur_updated_at timestamptz,
            outcome text, reason text, message text,
            status_changed boolean NOT NULL DEFAULT false, shipping_changed boolean NOT NULL DEFAULT false,
            items_changed boolean NOT NULL DEFAULT false, other_changed boolean NOT NULL DEFAULT false,
            changed_fields text[]
        ) ON COMMIT DROP
        """

    // MARK: First load (see `FirstLoadRows`)

    /// Whether the source ($1) has no orders, so a first load applies. Only bulk runs write a
    /// pipeline's source (the API writes its own), and they hold the bulk-run lock.
    static let sourceIsEmpty = "SELECT NOT EXISTS (SELECT 1 FROM orders WHERE source = $1) AS empty"

    static let copyFirstLoadOrders = """
        COPY orders (id, source, external_ref, customer_id, status, currency, tracking_company, tracking_number,
                     created_at, updated_at) FROM STDIN WITH (FORMAT binary)
        """

    static let copyFirstLoadItems = "COPY order_items (order_id, line_no, product_id, quantity, unit_price) FROM STDIN WITH (FORMAT binary)"

    /// Whether a staged row (a reject, a later group, a delete) names an order the first load
    /// wrote directly: the diff must then see all of that order's rows, so the run stages
    /// everything instead. $1 source.
    static let firstLoadOverlap = """
        SELECT EXISTS (
            SELECT 1 FROM stage_lines l JOIN orders o ON o.source = $1 AND o.external_ref = substr(l.okey, 2)
            WHERE left(l.okey, 1) = '~'
        ) AS overlap
        """

    /// History for the orders the first load wrote: at apply time they are all of the source's
    /// orders (the staged creates are inserted after). $1 source, $2 run id, $3 now.
    static let insertFirstLoadEvents = """
        INSERT INTO order_events (order_id, run_id, source, kind, from_status, to_status, tracking_company,
                                  tracking_number, changed_fields, event_at)
        SELECT id, $2, $1, 'created', NULL, status, tracking_company, tracking_number, NULL, $3::timestamptz
        FROM orders WHERE source = $1
        """

    /// One row per staged order, its target in `orders`, and its outcome. $1 source, $2 enforce
    /// transitions.
    ///
    /// The reader sends each run of adjacent rows of one order as a group, already checked, whose
    /// first row alone carries the order-level fields and the line count (`grp_lines`). An order that is one group is read from
    /// that row alone; only orders whose key may repeat (`grp_repeat`, from the reader's key
    /// filter) are aggregated, and a column differing between their groups' first rows (`min <>
    /// max`, or NULL on some of them only) makes them conflicting.
    static func classify(byOrderId: Bool) -> String {
        // Each staged order's stored row, joined once: its columns are carried for the outcome.
        // The join by id is left out when no order in the feed is keyed by id: the planner
        // cannot know that from the key expression, and would hash all of `orders` for nothing.
        let columns = ["id", "status", "updated_at", "customer_id", "currency", "created_at", "tracking_company", "tracking_number"]
        func name(_ c: String) -> String { c == "id" ? "target_id" : "o_\(c)" }
        func cast(_ c: String) -> String { c == "currency" ? "::text" : "" }
        let byRef = "k.order_id IS NULL AND o2.source = $1 AND o2.external_ref = substr(k.okey, 2)"
        let target = byOrderId
            ? "SELECT k.*, " + columns.map { "CASE WHEN o1.id IS NOT NULL THEN o1.\($0) ELSE o2.\($0) END\(cast($0)) AS \(name($0))" }.joined(separator: ", ")
                + " FROM k LEFT JOIN orders o1 ON k.order_id IS NOT NULL AND o1.id = k.order_id LEFT JOIN orders o2 ON \(byRef)"
            : "SELECT k.*, " + columns.map { "o2.\($0)\(cast($0)) AS \(name($0))" }.joined(separator: ", ") + " FROM k LEFT JOIN orders o2 ON \(byRef)"
        return """
        WITH multi AS (
            SELECT DISTINCT okey FROM stage_lines WHERE grp_repeat
        ), single AS (
            SELECT okey, CASE WHEN left(okey, 1) <> '~' THEN okey::uuid END AS order_id, external_ref, new_id,
                   pos AS first_pos, action, customer_id, status, currency, created_at, tracking_company, tracking_number,
                   grp_lines AS n_lines, false AS conflict, false AS renumber
            FROM stage_lines l
            WHERE grp_lines IS NOT NULL AND NOT EXISTS (SELECT 1 FROM multi m WHERE m.okey = l.okey)
        ), merged AS (
            SELECT okey,
                   CASE WHEN left(okey, 1) <> '~' THEN okey::uuid END AS order_id,
                   min(external_ref) AS external_ref,
                   min(new_id::text)::uuid AS new_id,
                   min(pos) AS first_pos,
                   min(action) AS action, min(customer_id) AS customer_id, min(status) AS status,
                   min(currency) AS currency, min(created_at) AS created_at,
                   min(tracking_company) AS tracking_company, min(tracking_number) AS tracking_number,
                   count(product_id)::integer AS n_lines,
                   (min(action) IS DISTINCT FROM max(action)
                    OR min(customer_id) IS DISTINCT FROM max(customer_id) OR count(customer_id) NOT IN (0, count(grp_lines))
                    OR min(status) IS DISTINCT FROM max(status) OR count(status) NOT IN (0, count(grp_lines))
                    OR min(currency) IS DISTINCT FROM max(currency) OR count(currency) NOT IN (0, count(grp_lines))
                    OR min(created_at) IS DISTINCT FROM max(created_at) OR count(created_at) NOT IN (0, count(grp_lines))
                    OR min(tracking_company) IS DISTINCT FROM max(tracking_company) OR count(tracking_company) NOT IN (0, count(grp_lines))
                    OR min(tracking_number) IS DISTINCT FROM max(tracking_number) OR count(tracking_number) NOT IN (0, count(grp_lines))
                    OR min(external_ref) IS DISTINCT FROM max(external_ref) OR count(external_ref) NOT IN (0, count(grp_lines))
                   ) AS conflict,
                   coalesce(max(line_no), 0) <> count(product_id) AS renumber
            FROM stage_lines
            WHERE okey IN (SELECT okey FROM multi) AND reject_reason IS NULL
            GROUP BY okey
        ), g AS (
            SELECT * FROM single UNION ALL SELECT * FROM merged
        ), r AS (
            SELECT DISTINCT okey FROM stage_lines WHERE reject_reason IS NOT NULL AND okey IS NOT NULL
        ), k AS (
            SELECT g.*, r.okey IS NOT NULL AS has_reject FROM g LEFT JOIN r ON r.okey = g.okey
            UNION ALL
            SELECT r.okey, CASE WHEN left(r.okey, 1) <> '~' THEN r.okey::uuid END, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                   NULL, NULL, NULL, NULL, false, false, true
            -- Keys with no valid row at all (every key with one is in g); asked of stage_lines, not
            -- of g, so that g is read once and never materialized.
            FROM r WHERE NOT EXISTS (SELECT 1 FROM stage_lines v WHERE v.okey = r.okey AND v.reject_reason IS NULL)
        ), t AS (
            \(target)
        )
        INSERT INTO stage_orders (okey, order_id, external_ref, new_id, first_pos, action, customer_id, status, currency,
                                  created_at, tracking_company, tracking_number, n_lines, conflict, renumber,
                                  has_reject, target_id, cur_status, cur_updated_at, outcome, reason, message,
                                  status_changed, shipping_changed, other_changed, changed_fields)
        SELECT t.okey, t.order_id, t.external_ref, t.new_id, t.first_pos, t.action, t.customer_id, t.status, t.currency,
               t.created_at, t.tracking_company, t.tracking_number, t.n_lines, t.conflict, t.renumber,
               t.has_reject, t.target_id, t.o_status, t.o_updated_at,
               CASE WHEN t.has_reject OR t.conflict THEN 'reject'
                    WHEN t.action = 'delete' THEN CASE WHEN t.target_id IS NULL THEN 'unchanged' ELSE 'delete' END
                    WHEN t.target_id IS NULL AND t.order_id IS NOT NULL THEN 'reject'
                    WHEN t.target_id IS NULL THEN 'create'
                    WHEN $2 AND t.status IS NOT NULL AND t.status <> t.o_status AND NOT EXISTS (
                         SELECT 1 FROM order_status_transition x WHERE x.from_status = t.o_status AND x.to_status = t.status) THEN 'reject'
                    WHEN (t.status IS NOT NULL AND t.status <> t.o_status)
                      OR \(newShipment)
                      OR t.customer_id <> t.o_customer_id OR t.currency IS DISTINCT FROM t.o_currency
                      OR (t.created_at IS NOT NULL AND t.created_at <> t.o_created_at) THEN 'update'
                    ELSE 'unchanged' END,
               CASE WHEN t.has_reject THEN 'order_incomplete'
                    WHEN t.conflict THEN 'conflicting_order_rows'
                    WHEN t.action = 'delete' THEN NULL
                    WHEN t.target_id IS NULL AND t.order_id IS NOT NULL THEN 'unknown_order'
                    WHEN t.target_id IS NOT NULL AND $2 AND t.status IS NOT NULL AND t.status <> t.o_status AND NOT EXISTS (
                         SELECT 1 FROM order_status_transition x WHERE x.from_status = t.o_status AND x.to_status = t.status) THEN 'illegal_transition' END,
               CASE WHEN t.has_reject THEN 'another record of this order was rejected'
                    WHEN t.conflict THEN 'the rows of this order disagree on order-level fields'
                    WHEN t.action = 'delete' THEN NULL
                    WHEN t.target_id IS NULL AND t.order_id IS NOT NULL THEN 'no order with id ' || t.order_id
                    ELSE 'illegal status transition from ' || t.o_status || ' to ' || t.status END,
               coalesce(t.status IS NOT NULL AND t.status <> t.o_status, false),
               coalesce(\(newShipment), false),
               coalesce(t.customer_id <> t.o_customer_id OR t.currency IS DISTINCT FROM t.o_currency OR (t.created_at IS NOT NULL AND t.created_at <> t.o_created_at), false),
               array_remove(ARRAY[CASE WHEN t.customer_id <> t.o_customer_id THEN 'customer_id' END,
                                  CASE WHEN t.currency IS DISTINCT FROM t.o_currency THEN 'currency' END,
                                  CASE WHEN t.created_at IS NOT NULL AND t.created_at <> t.o_created_at THEN 'created_at' END], NULL)
        FROM t
        """
    }

    /// Whether the feed lists a (carrier, tracking number) the stored order has no shipment
    /// for. The feed's number equal to the order's most recent one needs no lookup.
    static let newShipment = """
        (t.tracking_number IS NOT NULL
         AND (t.tracking_number IS DISTINCT FROM t.o_tracking_number OR t.tracking_company IS DISTINCT FROM t.o_tracking_company)
         AND EXISTS (SELECT 1 FROM unnest(string_to_array(t.tracking_number, '|')) WITH ORDINALITY n(num, ord)
                     WHERE NOT EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = t.target_id AND s.tracking_number = n.num
                                       AND s.carrier = \(carrierOf("t.tracking_company", "n.ord")))))
        """

    /// The carrier of the `ord`th number of a `|` list: one carrier for all, or one per number.
    static func carrierOf(_ companies: String, _ ord: String) -> String {
        "coalesce(CASE WHEN \(companies) LIKE '%|%' THEN split_part(\(companies), '|', \(ord)::integer) ELSE \(companies) END, '')"
    }

    /// The most recent of a `|` list (its last).
    static func last(_ list: String) -> String { "split_part(\(list), '|', -1)" }

    /// Two staged orders that reach the same stored order (one by id, one by external ref).
    static let rejectDuplicateTargets = """
        UPDATE stage_orders SET outcome = 'reject', reason = 'conflicting_order_rows',
               message = 'two keys in this feed (order_id and external_ref) name the same order'
        WHERE target_id IN (SELECT target_id FROM stage_orders WHERE target_id IS NOT NULL
                            GROUP BY target_id HAVING count(*) > 1)
        """

    static let anyRenumber = "SELECT EXISTS (SELECT 1 FROM stage_orders WHERE renumber AND outcome <> 'reject') AS any"

    /// Orders whose rows were not adjacent got colliding line numbers; number them by position.
    static let renumber = """
        UPDATE stage_lines l SET line_no = r.rn
        FROM (SELECT ctid AS row_id, row_number() OVER (PARTITION BY okey ORDER BY pos) AS rn
              FROM stage_lines
              WHERE reject_reason IS NULL AND product_id IS NOT NULL
                AND okey IN (SELECT okey FROM stage_orders WHERE renumber)) r
        WHERE l.ctid = r.row_id
        """

    /// Stored orders whose items differ from the feed's (a line changed, added or removed).
    static let flagItemChanges = """
        WITH changed AS (
            SELECT s.okey FROM stage_lines l
            JOIN stage_orders s ON s.okey = l.okey
            LEFT JOIN order_items i ON i.order_id = s.target_id AND i.line_no = l.line_no
            WHERE s.outcome IN ('update', 'unchanged') AND s.action = 'upsert'
              AND l.reject_reason IS NULL AND l.product_id IS NOT NULL
              AND (i.order_id IS NULL OR i.product_id <> l.product_id OR i.quantity <> l.quantity
                   OR i.unit_price IS DISTINCT FROM l.unit_price)
            UNION
            SELECT s.okey FROM stage_orders s
            JOIN order_items i ON i.order_id = s.target_id AND i.line_no > s.n_lines
            WHERE s.outcome IN ('update', 'unchanged') AND s.action = 'upsert'
        )
        UPDATE stage_orders s SET items_changed = true, outcome = 'update'
        FROM changed c WHERE s.okey = c.okey
        """

    /// Mirror mode: stored orders of the source ($1) that the feed does not mention.
    static let addMirrorDeletes = """
        INSERT INTO stage_orders (okey, target_id, cur_status, cur_updated_at, action, outcome)
        SELECT '#' || o.id, o.id, o.status, o.updated_at, 'mirror', 'delete'
        FROM orders o
        WHERE o.source = $1
          AND NOT EXISTS (SELECT 1 FROM stage_orders s WHERE s.target_id = o.id)
        """

    /// Counts per outcome and per reject reason, plus record counts for the reconciliation.
    /// $1 source, $2 whether to count the source's orders (mirror mode).
    static let summary = """
        SELECT
          (SELECT count(*) FROM stage_lines WHERE rec_first) AS records,
          (SELECT count(*) FROM stage_lines WHERE rec_first AND reject_reason IS NOT NULL) AS row_rejected_records,
          (SELECT count(*) FROM stage_lines l WHERE l.rec_first AND l.reject_reason IS NULL
              AND l.okey IN (SELECT okey FROM stage_orders WHERE outcome = 'reject')) AS order_rejected_records,
          count(*) FILTER (WHERE action IS NOT NULL AND action <> 'mirror') AS orders,
          count(*) FILTER (WHERE outcome = 'create') AS created,
          count(*) FILTER (WHERE outcome = 'update') AS updated,
          count(*) FILTER (WHERE outcome = 'unchanged') AS unchanged,
          count(*) FILTER (WHERE outcome = 'delete' AND action = 'delete') AS deleted,
          count(*) FILTER (WHERE outcome = 'delete' AND action = 'mirror') AS mirror_deleted,
          count(*) FILTER (WHERE outcome = 'reject' AND action IS NOT NULL) AS rejected,
          count(*) FILTER (WHERE outcome = 'update' AND status_changed) AS status_changed,
          count(*) FILTER (WHERE outcome = 'update' AND shipping_changed) AS shipping_changed,
          count(*) FILTER (WHERE outcome = 'update' AND items_changed) AS items_changed,
          count(*) FILTER (WHERE outcome = 'update' AND other_changed) AS other_changed,
          -- Only the mirror guard needs it ($2): a scan of every order of the source.
          CASE WHEN $2::boolean THEN (SELECT count(*) FROM orders WHERE source = $1) ELSE 0 END AS source_orders
        FROM stage_orders
        """

    /// Every rejected record, in input order: row rejects with their own reason, the other
    /// records of a rejected order with the order's reason.
    static let rejectList = """
        COPY (
            SELECT l.pos, coalesce(l.reject_reason, s.reason), coalesce(l.reject_message, s.message)
            FROM stage_lines l LEFT JOIN stage_orders s ON s.okey = l.okey
            WHERE l.rec_first AND (l.reject_reason IS NOT NULL OR s.outcome = 'reject')
            ORDER BY l.pos
        ) TO STDOUT
        """

    // MARK: Apply ($1 source, $2 run id, $3 now)

    static let insertOrders = """
        INSERT INTO orders (id, source, external_ref, customer_id, status, currency, tracking_company, tracking_number,
                            created_at, updated_at)
        SELECT new_id, $1, external_ref, customer_id, coalesce(status, 'processing'), currency, \(last("tracking_company")),
               \(last("tracking_number")), coalesce(created_at, $3::timestamptz), $3::timestamptz
        FROM stage_orders WHERE outcome = 'create'
        """

    /// The statuses a shipment can have; an order's other statuses give its shipments none.
    static let shipmentStatuses = "('shipped', 'in_transit', 'out_for_delivery', 'available_for_pickup', 'failed_attempt', 'exception', 'delivered', 'returned')"

    /// One shipment per entry of an order's `|` list, in list order (ids follow it, so the
    /// last added is the most recent); the order's status is theirs when it is a shipment's.
    /// `orders`: a FROM item with `order_id`, `tracking_company`, `tracking_number`, `status`.
    static func insertShipments(from orders: String, onConflict: String = "") -> String {
        """
        INSERT INTO shipments (order_id, carrier, tracking_number, status, source, created_at, updated_at)
        SELECT x.order_id, \(carrierOf("x.tracking_company", "n.ord")), n.num,
               CASE WHEN x.status IN \(shipmentStatuses) THEN x.status END, $1, $3::timestamptz, $3::timestamptz
        FROM \(orders) x
        CROSS JOIN LATERAL unnest(string_to_array(x.tracking_number, '|')) WITH ORDINALITY n(num, ord)
        ORDER BY x.order_id, n.ord
        \(onConflict)
        """
    }

    /// Shipments the feed lists that its orders do not have yet.
    static let insertFeedShipments = insertShipments(from: """
        (SELECT CASE WHEN outcome = 'create' THEN new_id ELSE target_id END AS order_id, tracking_company, tracking_number,
                coalesce(status, cur_status, 'processing') AS status
         FROM stage_orders
         WHERE tracking_number IS NOT NULL AND (outcome = 'create' OR (outcome = 'update' AND shipping_changed)))
        """, onConflict: "ON CONFLICT (order_id, carrier, tracking_number) DO NOTHING")

    /// Updated orders with a new shipment: their tracking fields are their most recent shipment's.
    static let refreshOrderTracking = """
        UPDATE orders o SET change_xid = pg_current_xact_id(), tracking_company = s.carrier, tracking_number = s.tracking_number
        FROM (SELECT DISTINCT ON (h.order_id) h.order_id, h.carrier, h.tracking_number
              FROM shipments h JOIN stage_orders st ON st.target_id = h.order_id AND st.outcome = 'update' AND st.shipping_changed
              ORDER BY h.order_id, h.id DESC) s
        WHERE o.id = s.order_id
        """

    /// A first load's orders with shipping info get their shipments ($1 source), and a `|`
    /// list on the order row becomes its most recent (last) entry.
    static let insertFirstLoadShipments = insertShipments(from: """
        (SELECT id AS order_id, tracking_company, tracking_number, status FROM orders WHERE source = $1 AND tracking_number IS NOT NULL)
        """)

    static let firstLoadLastShipment = """
        UPDATE orders SET change_xid = pg_current_xact_id(), tracking_company = \(last("tracking_company")), tracking_number = \(last("tracking_number"))
        WHERE source = $1 AND (tracking_number LIKE '%|%' OR tracking_company LIKE '%|%')
        """

    static let insertCreatedItems = """
        INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
        SELECT s.new_id, l.line_no, l.product_id, l.quantity, l.unit_price
        FROM stage_lines l JOIN stage_orders s ON s.okey = l.okey
        WHERE s.outcome = 'create' AND l.reject_reason IS NULL AND l.product_id IS NOT NULL
        """

    static let updateOrders = """
        UPDATE orders o SET change_xid = pg_current_xact_id(), status = coalesce(s.status, o.status), customer_id = s.customer_id, currency = s.currency,
               created_at = coalesce(s.created_at, o.created_at), updated_at = $3::timestamptz
        FROM stage_orders s
        WHERE o.id = s.target_id AND s.outcome = 'update'
          AND (s.status_changed OR s.shipping_changed OR s.other_changed OR s.items_changed)
          AND o.updated_at = s.cur_updated_at -- unchanged since the diff (see PipelineRun.applyStatements)
        """

    static let deleteChangedItems = """
        DELETE FROM order_items i USING stage_orders s
        WHERE i.order_id = s.target_id AND s.outcome = 'update' AND s.items_changed
        """

    static let insertChangedItems = """
        INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
        SELECT s.target_id, l.line_no, l.product_id, l.quantity, l.unit_price
        FROM stage_lines l JOIN stage_orders s ON s.okey = l.okey
        WHERE s.outcome = 'update' AND s.items_changed AND l.reject_reason IS NULL AND l.product_id IS NOT NULL
        """

    static let deleteOrders = """
        DELETE FROM orders o USING stage_orders s
        WHERE o.id = s.target_id AND s.outcome = 'delete' AND o.updated_at = s.cur_updated_at
        """

    /// The kinds of history rows a run writes.
    enum EventKind: CaseIterable {
        case created, statusChanged, shippingUpdated, itemsChanged, updated, deleted
    }

    /// One history row per applied change, tagged with the run — only the kinds that occur,
    /// since each kind is a scan of every staged order.
    static func insertEvents(_ kinds: Set<EventKind>) -> String {
        let branch: [EventKind: String] = [
            .created: """
                SELECT new_id, $2, $1, 'created', NULL::text, coalesce(status, 'processing'), \(last("tracking_company")), \(last("tracking_number")), NULL::text[], $3::timestamptz
                  FROM stage_orders WHERE outcome = 'create'
                """,
            .statusChanged: """
                SELECT target_id, $2, $1, 'status_changed', cur_status, status, NULL::text, NULL::text, NULL::text[], $3::timestamptz
                  FROM stage_orders WHERE outcome = 'update' AND status_changed
                """,
            .shippingUpdated: """
                SELECT target_id, $2, $1, 'shipping_updated', NULL::text, NULL::text, \(last("tracking_company")), \(last("tracking_number")), NULL::text[], $3::timestamptz
                  FROM stage_orders WHERE outcome = 'update' AND shipping_changed
                """,
            .itemsChanged: """
                SELECT target_id, $2, $1, 'items_changed', NULL::text, NULL::text, NULL::text, NULL::text, NULL::text[], $3::timestamptz
                  FROM stage_orders WHERE outcome = 'update' AND items_changed
                """,
            .updated: """
                SELECT target_id, $2, $1, 'updated', NULL::text, NULL::text, NULL::text, NULL::text, changed_fields, $3::timestamptz
                  FROM stage_orders WHERE outcome = 'update' AND other_changed
                """,
            .deleted: """
                SELECT target_id, $2, $1, 'deleted', cur_status, NULL::text, NULL::text, NULL::text, NULL::text[], $3::timestamptz
                  FROM stage_orders WHERE outcome = 'delete'
                """,
        ]
        let selects = EventKind.allCases.filter(kinds.contains).compactMap { branch[$0] }
        return """
            INSERT INTO order_events (order_id, run_id, source, kind, from_status, to_status, tracking_company,
                                      tracking_number, changed_fields, event_at)

            """ + selects.joined(separator: "\nUNION ALL\n")
    }
}
