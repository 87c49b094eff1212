import OrderModel
import OrderStore
import PostgresClient
import OrderflowTestSupport
import Testing

@Suite struct MigratorTests {
    @Test func migratingTwiceChangesNothing() throws {
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            let migrator = Migrator()
            #expect(try migrator.currentVersion(conn) == 0)
            #expect(throws: SchemaError.self) { try migrator.requireCurrent(conn) }
            let first = try migrator.migrate(conn)
            #expect(first.applied == Migrations.all.map(\.version))
            #expect(first.transitionsSynced)
            let schemaBefore = try schemaFingerprint(conn)
            let second = try migrator.migrate(conn)
            #expect(second.unchanged)
            #expect(try schemaFingerprint(conn) == schemaBefore)
            try migrator.requireCurrent(conn)
        }
    }

    @Test func transitionTableEqualsSwiftRules() throws {
        try TestDatabase.withFreshDatabase { conn, _ in
            let stored = try Migrator().storedTransitions(conn)
            var expected = Set<StatusPair>()
            for from in OrderStatus.allCases {
                for to in OrderStatus.allCases where from.transition(to: to) == .allowed {
                    expected.insert(StatusPair(from: from.rawValue, to: to.rawValue))
                }
            }
            #expect(stored == expected)
            #expect(stored.count > 40)
        }
    }

    @Test func driftedTransitionTableIsRepaired() throws {
        try TestDatabase.withFreshDatabase { conn, _ in
            try conn.execute("INSERT INTO order_status_transition VALUES ('cancelled', 'processing')")
            let outcome = try Migrator().migrate(conn)
            #expect(outcome.applied.isEmpty)
            #expect(outcome.transitionsSynced)
            #expect(try !Migrator().storedTransitions(conn).contains(StatusPair(from: "cancelled", to: "processing")))
        }
    }

    @Test(arguments: OrderStatus.allCases)
    func statusCheckAcceptsEverySwiftStatus(status: OrderStatus) throws {
        try TestDatabase.withFreshDatabase { conn, _ in
            var gen = UUIDv7Generator()
            let now = Timestamp(rfc3339: "2026-11-26T12:00:00Z")!
            try conn.query("""
                INSERT INTO orders (id, source, customer_id, status, created_at, updated_at)
                VALUES (\(gen.next()), 'api', 'c1', \(status), \(now), \(now))
                """)
            let error = try #require(throws: PostgresError.self) {
                try conn.query("INSERT INTO orders (id, source, customer_id, status, created_at, updated_at) VALUES (\(gen.next()), 'api', 'c1', \("lost"), \(now), \(now))")
            }
            #expect(error.sqlState == "23514")
        }
    }

    @Test func newerDatabaseIsRefused() throws {
        try TestDatabase.withFreshDatabase { conn, _ in
            try conn.query("INSERT INTO schema_migrations (version, name) VALUES (\(Migrations.latestVersion + 1), 'from the future')")
            #expect(throws: SchemaError.self) { try Migrator().requireCurrent(conn) }
            #expect(throws: SchemaError.self) { try Migrator().migrate(conn) }
        }
    }

    @Test func timestampsAndMoneyRoundTrip() throws {
        try TestDatabase.withFreshDatabase { conn, _ in
            let t = Timestamp(rfc3339: "2024-09-17T03:21:38.892123Z")!
            let m = Money("1234.5600")!
            let row = try conn.query("SELECT \(t)::timestamptz AS t, \(m)::numeric AS m").rows[0]
            #expect(try row.decode("t", as: Timestamp.self) == t)
            #expect(try row.decode("m", as: Money.self).description == "1234.5600")
        }
    }

    func schemaFingerprint(_ conn: PostgresConnection) throws -> [String] {
        try conn.query("""
            SELECT table_name || '.' || column_name || ':' || data_type AS c FROM information_schema.columns
            WHERE table_schema = 'public' ORDER BY 1
            """).rows.map { $0["c"] ?? "" }
            + conn.query("SELECT indexname AS i FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1").rows.map { $0["i"] ?? "" }
            + conn.query("SELECT version::text || name AS v FROM schema_migrations ORDER BY version").rows.map { $0["v"] ?? "" }
    }
}
