import OrderStore
import PostgresClient
import OrderflowTestSupport
import Testing

/// Migration 4 (shipments) run on a database as release 3 left it, full of orders: every order's
/// shipping info becomes its one shipment, nothing else changes, and a failure changes nothing.
@Suite struct MigrationUpgradeTests {
    /// One hand-written order per case the status rule distinguishes, with what its shipment must be.
    struct Case {
        let ref: String
        let status: String
        let company: String?
        let number: String?
        let statusEventAt: String?
        let updatedAt = "2026-10-20T08:00:00.000000Z"
        /// The expected shipment (nil: none): status, shipped_at, delivered_at.
        let shipment: (status: String?, shippedAt: String?, deliveredAt: String?)?
    }

    static let cases: [Case] = [
        Case(ref: "P0", status: "processing", company: nil, number: nil, statusEventAt: nil, shipment: nil),
        // Tracking known while still processing: a shipment, but no carrier has said anything yet.
        Case(ref: "P1", status: "processing", company: "UPS", number: "1Z0001", statusEventAt: "2026-10-01T09:00:00.000000Z",
             shipment: (nil, nil, nil)),
        Case(ref: "S1", status: "shipped", company: "FedEx", number: "770000000001", statusEventAt: "2026-10-02T10:00:00.000000Z",
             shipment: ("shipped", "2026-10-02T10:00:00.000000Z", nil)),
        Case(ref: "T1", status: "in_transit", company: "DHL", number: "JD0001", statusEventAt: "2026-10-03T10:00:00.250000Z",
             shipment: ("in_transit", nil, nil)),
        Case(ref: "D1", status: "delivered", company: "UPS", number: "1Z0002", statusEventAt: "2026-10-05T12:34:56.789123Z",
             shipment: ("delivered", nil, "2026-10-05T12:34:56.789123Z")),
        Case(ref: "D0", status: "delivered", company: nil, number: nil, statusEventAt: "2026-10-05T12:00:00.000000Z", shipment: nil),
        Case(ref: "C1", status: "cancelled", company: "USPS", number: "9400000001", statusEventAt: "2026-10-04T00:00:00.000000Z",
             shipment: (nil, nil, nil)),
        Case(ref: "R1", status: "returned", company: "FedEx", number: "770000000002", statusEventAt: "2026-10-06T00:00:00.000000Z",
             shipment: ("returned", nil, nil)),
        // Only a shipped order's status time is a ship time; the others' is unknown.
        Case(ref: "E1", status: "exception", company: "DHL", number: "JD0002", statusEventAt: nil,
             shipment: ("exception", nil, nil)),
        // A number without a carrier (the API allowed it): the carrier is '' in shipments.
        Case(ref: "N1", status: "shipped", company: nil, number: "NOCARRIER1", statusEventAt: "2026-10-02T11:00:00.000000Z",
             shipment: ("shipped", "2026-10-02T11:00:00.000000Z", nil)),
        // A carrier without a number: no shipment (a shipment needs a number).
        Case(ref: "K1", status: "shipped", company: "UPS", number: nil, statusEventAt: "2026-10-02T12:00:00.000000Z", shipment: nil),
    ]

    /// Exact text of a timestamp column, whatever the session's zone.
    static func utc(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    }

    /// A database as release 3 left it: its schema, the hand-written cases and 2,000 generated
    /// orders of every status with and without tracking, their items and their history.
    func version3Database(_ conn: PostgresConnection) throws {
        let outcome = try Migrator().migrate(conn, upTo: 3)
        #expect(outcome.applied == [1, 2, 3] && outcome.version == 3)
        #expect(try Migrator().currentVersion(conn) == 3)
        #expect(try conn.query("SELECT to_regclass('shipments') IS NULL AS absent").rows[0].decode("absent", as: Bool.self))

        for c in Self.cases {
            try conn.query("""
                INSERT INTO orders (id, source, external_ref, customer_id, status, currency, tracking_company, tracking_number,
                                    status_event_at, created_at, updated_at)
                VALUES (gen_random_uuid(), 'legacy', \(c.ref), 'case-customer', \(c.status), 'EUR', \(c.company), \(c.number),
                        \(c.statusEventAt)::timestamptz, '2026-09-30T00:00:00Z', \(c.updatedAt)::timestamptz)
                """)
        }
        // Statuses cycle by g % 10, tracking by g % 3 and a status time by g % 7: every
        // combination occurs (3, 7 and 10 share no factor).
        try conn.execute("""
            INSERT INTO orders (id, source, external_ref, customer_id, status, currency, tracking_company, tracking_number,
                                status_event_at, created_at, updated_at)
            SELECT gen_random_uuid(), CASE WHEN g % 5 = 0 THEN 'api' ELSE 'legacy' END, 'G' || g, 'cust-' || (g % 97),
                   (ARRAY['processing', 'shipped', 'in_transit', 'out_for_delivery', 'available_for_pickup', 'failed_attempt',
                          'exception', 'delivered', 'returned', 'cancelled'])[1 + g % 10],
                   'USD',
                   CASE WHEN g % 3 <> 0 THEN (ARRAY['UPS', 'FedEx', 'DHL', 'USPS'])[1 + g % 4] END,
                   CASE WHEN g % 3 <> 0 THEN 'TN' || lpad(g::text, 8, '0') END,
                   CASE WHEN g % 7 <> 0 THEN timestamptz '2026-10-01 00:00:00Z' + g * interval '1 minute 0.001 seconds' END,
                   timestamptz '2026-09-01 00:00:00Z' + g * interval '1 minute',
                   timestamptz '2026-10-15 00:00:00Z' + g * interval '1 second'
            FROM generate_series(1, 2000) g
            """)
        try conn.execute("""
            INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
            SELECT o.id, n, 'SKU-' || n, n, 1.25 * n FROM orders o, generate_series(1, 1 + length(o.external_ref) % 3) n
            """)
        try conn.execute("""
            INSERT INTO import_runs (pipeline, kind, input_name, input_sha256, started_at, finished_at, status)
            VALUES ('orders-upsert', 'orders', 'feed.csv', 'abc', now(), now(), 'applied');
            INSERT INTO order_events (order_id, run_id, source, kind, to_status, event_at, recorded_at)
            SELECT id, 1, source, 'created', 'processing', created_at, created_at FROM orders;
            INSERT INTO order_events (order_id, run_id, source, kind, from_status, to_status, event_code, location, description,
                                      event_at, recorded_at)
            SELECT id, NULL, 'tracking-ups', 'status_changed', 'processing', status, 'X1', 'Köln, DE', 'Zugestellt, "Haustür"',
                   status_event_at, updated_at
            FROM orders WHERE status <> 'processing';
            INSERT INTO order_events (order_id, source, kind, tracking_company, tracking_number, changed_fields, event_at, recorded_at)
            SELECT id, 'api', 'shipping_updated', tracking_company, tracking_number, ARRAY['tracking_company', 'tracking_number'],
                   NULL, updated_at
            FROM orders WHERE tracking_number IS NOT NULL OR tracking_company IS NOT NULL;
            """)
    }

    /// md5 of each table's rows as text, sorted, and their counts: equal before and after means
    /// the rows are byte for byte the same.
    func contents(_ conn: PostgresConnection) throws -> [String: String] {
        var out: [String: String] = [:]
        for table in ["orders", "order_items", "order_events", "import_runs", "api_idempotency_keys", "order_status_transition"] {
            // Migration 5 adds columns to import_runs and 6 a change_xid to orders and events:
            // compare the columns version 3 had.
            let rows = table == "import_runs"
                ? "(SELECT id, pipeline, kind, input_name, input_sha256, started_at, finished_at, status, counts, report FROM import_runs)"
                : "\(table)"
            let row = try conn.query("""
                SELECT count(*) AS n, md5(coalesce(string_agg(x, '|' ORDER BY x), '')) AS h FROM (SELECT (to_jsonb(r) - 'change_xid')::text AS x FROM \(unescaped: rows) r) t
                """).rows[0]
            out[table] = "\(row["n"] ?? "?") rows, md5 \(row["h"] ?? "?")"
        }
        return out
    }

    @Test func upgradingFromVersion3GivesEveryTrackedOrderItsOneShipmentAndChangesNothingElse() throws {
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            try version3Database(conn)
            let before = try contents(conn)
            let tracked = try conn.query("SELECT count(*) AS n FROM orders WHERE tracking_number IS NOT NULL").rows[0].decode("n", as: Int.self)
            #expect(tracked > 1300)

            let outcome = try Migrator().migrate(conn)
            #expect(outcome.applied == [4, 5, 6, 7] && outcome.version == Migrations.latestVersion)
            try Migrator().requireCurrent(conn)

            // Orders, items, history, runs: the same rows, the same count.
            #expect(try contents(conn) == before)
            #expect(try conn.query("SELECT count(*) AS n FROM shipments").rows[0].decode("n", as: Int.self) == tracked)

            // The hand-written cases, value by value.
            for c in Self.cases {
                let rows = try conn.query("""
                    SELECT s.carrier, s.tracking_number, s.status, \(unescaped: Self.utc("s.status_event_at")) AS status_event_at,
                           \(unescaped: Self.utc("s.shipped_at")) AS shipped_at, \(unescaped: Self.utc("s.delivered_at")) AS delivered_at,
                           s.attempts, s.exception_code, s.source, \(unescaped: Self.utc("s.created_at")) AS created_at,
                           (SELECT count(*) FROM shipment_lines l WHERE l.order_id = s.order_id) AS lines,
                           (SELECT count(*) FROM shipment_events e WHERE e.order_id = s.order_id) AS events
                    FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.external_ref = \(c.ref)
                    """).rows
                guard let expected = c.shipment else {
                    #expect(rows.isEmpty, "\(c.ref) has no tracking number, so no shipment")
                    continue
                }
                #expect(rows.count == 1, "\(c.ref): exactly one shipment")
                guard let s = rows.first else { continue }
                #expect(s["carrier"] == (c.company ?? "") && s["tracking_number"] == c.number, "\(c.ref)")
                #expect(s["status"] == expected.status, "\(c.ref): status")
                #expect(s["status_event_at"] == c.statusEventAt, "\(c.ref): status_event_at copied")
                #expect(s["shipped_at"] == expected.shippedAt, "\(c.ref): shipped_at")
                #expect(s["delivered_at"] == expected.deliveredAt, "\(c.ref): delivered_at")
                #expect(s["attempts"] == "0" && s["exception_code"] == nil && s["source"] == "legacy", "\(c.ref)")
                #expect(s["created_at"] == c.updatedAt, "\(c.ref): recorded when the order last changed")
                #expect(s["lines"] == "0" && s["events"] == "0", "\(c.ref): no lines, no carrier events (history stays in order_events)")
            }

            // Every order, by the rule: tracked orders have exactly one shipment with their carrier
            // and number; its status is the order's except processing/cancelled (none); the status
            // time is copied; delivered orders were delivered then. Untracked orders have none.
            let violations = try conn.query("""
                SELECT o.external_ref AS ref FROM orders o
                LEFT JOIN LATERAL (SELECT count(*) AS n, min(s.carrier) AS carrier, min(s.tracking_number) AS number,
                                          min(s.status) AS status, min(s.status_event_at) AS status_event_at,
                                          min(s.delivered_at) AS delivered_at
                                   FROM shipments s WHERE s.order_id = o.id) s ON true
                WHERE CASE WHEN o.tracking_number IS NULL THEN s.n <> 0
                      ELSE s.n <> 1
                        OR s.carrier <> coalesce(o.tracking_company, '') OR s.number <> o.tracking_number
                        OR s.status IS DISTINCT FROM (CASE WHEN o.status IN ('processing', 'cancelled') THEN NULL ELSE o.status END)
                        OR s.status_event_at IS DISTINCT FROM o.status_event_at
                        OR s.delivered_at IS DISTINCT FROM (CASE WHEN o.status = 'delivered' THEN o.status_event_at END)
                      END
                ORDER BY 1 LIMIT 20
                """).rows.map { $0["ref"] ?? "?" }
            #expect(violations.isEmpty, "orders whose shipment breaks the rule: \(violations)")
            // Each status of the generated orders was there to be copied, with and without tracking.
            let combinations = try conn.query("""
                SELECT count(DISTINCT (status, tracking_number IS NULL, status_event_at IS NULL)) AS n FROM orders WHERE external_ref LIKE 'G%'
                """).rows[0].decode("n", as: Int.self)
            #expect(combinations == 40)

            // The order's tracking fields are its (only, so most recent) shipment's.
            #expect(try conn.query("""
                SELECT count(*) AS n FROM orders o JOIN shipments s ON s.order_id = o.id
                WHERE nullif(s.carrier, '') IS DISTINCT FROM o.tracking_company OR s.tracking_number IS DISTINCT FROM o.tracking_number
                """).rows[0].decode("n", as: Int.self) == 0)
            // Matching by tracking number reads shipments now; the old orders index is gone.
            #expect(try conn.query("SELECT to_regclass('orders_tracking_idx') IS NULL AS gone").rows[0].decode("gone", as: Bool.self))
            // Migration 5: the runs keep their rows; the new columns are empty until a run writes them.
            #expect(try conn.query("""
                SELECT count(*) AS n FROM import_runs WHERE run_id IS NOT NULL OR message IS NOT NULL OR report_path IS NOT NULL OR notifications IS NOT NULL
                """).rows[0].decode("n", as: Int.self) == 0)
            #expect(throws: PostgresError.self) {
                try conn.execute("INSERT INTO import_runs (pipeline, kind, input_name, input_sha256, started_at, status) VALUES ('p', 'orders', 'f', 'x', now(), 'exploded')")
            }
            #expect(try Migrator().migrate(conn).unchanged)
        }
    }

    @Test func aMigrationThatFailsMidwayLeavesVersion3AsItWas() throws {
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            try version3Database(conn)
            // A row migration 4 cannot copy: a status no shipment may have. Its INSERT into
            // shipments fails after the four tables were created, so a migration that was not one
            // transaction would leave them (and version 4's tables without version 4) behind.
            try conn.execute("ALTER TABLE orders DROP CONSTRAINT orders_status_check")
            try conn.execute("""
                INSERT INTO orders (id, source, external_ref, customer_id, status, tracking_company, tracking_number, created_at, updated_at)
                VALUES (gen_random_uuid(), 'legacy', 'BAD', 'c', 'lost', 'UPS', '1ZBAD', now(), now())
                """)
            let before = try contents(conn)
            let schema = try conn.query("SELECT string_agg(relname, ',' ORDER BY relname) AS r FROM pg_class WHERE relnamespace = 'public'::regnamespace")
                .rows[0]["r"]

            let error = try #require(throws: PostgresError.self) { try Migrator().migrate(conn) }
            #expect(error.sqlState == "23514", "the shipments status check: \(error)")
            #expect(!conn.inTransaction)
            #expect(try Migrator().currentVersion(conn) == 3)
            #expect(try contents(conn) == before)
            #expect(try conn.query("SELECT string_agg(relname, ',' ORDER BY relname) AS r FROM pg_class WHERE relnamespace = 'public'::regnamespace")
                .rows[0]["r"] == schema)
            for table in ["shipments", "shipment_lines", "shipment_events", "held_events"] {
                #expect(try conn.query("SELECT to_regclass(\(table)) IS NULL AS absent").rows[0].decode("absent", as: Bool.self), "\(table)")
            }
            #expect(try !conn.query("SELECT to_regclass('orders_tracking_idx') IS NULL AS gone").rows[0].decode("gone", as: Bool.self))

            // Without the bad row the same call completes: nothing was left half done.
            try conn.execute("DELETE FROM orders WHERE external_ref = 'BAD'")
            #expect(try Migrator().migrate(conn).applied == [4, 5, 6, 7])
            #expect(try conn.query("SELECT count(*) = (SELECT count(*) FROM orders WHERE tracking_number IS NOT NULL) AS ok FROM shipments")
                .rows[0].decode("ok", as: Bool.self))
        }
    }
}
