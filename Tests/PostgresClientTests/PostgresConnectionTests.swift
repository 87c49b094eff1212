import Foundation
import PostgresClient
import OrderflowTestSupport
import Testing

@Suite("PostgresConnection against a real server")
struct PostgresConnectionTests {
    @Test func bindsParametersOfEveryTypeWeUse() throws {
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            let id = UUID()
            let row = try conn.query("""
                SELECT \("héllo ✓ 日本")::text AS s, \(42)::int AS i, \(Int64.max)::bigint AS big, \(Int32.min)::int AS small,
                       \(true)::bool AS b, \(1.5)::float8 AS d, \(id)::uuid AS u,
                       \(["a", "b\"c", "d\\e", "with,comma"])::text[] AS arr, \(String?.none)::text AS nothing,
                       \("'; DROP TABLE x; --")::text AS sqlish
                """).rows[0]
            #expect(try row.decode("s", as: String.self) == "héllo ✓ 日本")
            #expect(try row.decode("i", as: Int.self) == 42)
            #expect(try row.decode("big", as: Int64.self) == Int64.max)
            #expect(try row.decode("small", as: Int32.self) == Int32.min)
            #expect(try row.decode("b", as: Bool.self) == true)
            #expect(try row.decode("d", as: Double.self) == 1.5)
            #expect(try row.decode("u", as: UUID.self) == id)
            #expect(row["arr"] == #"{a,"b\"c","d\\e","with,comma"}"#)
            #expect(row["nothing"] == nil)
            #expect(try row.decode("nothing", as: String?.self) == nil)
            #expect(row["sqlish"] == "'; DROP TABLE x; --")
        }
    }

    @Test func quotesIdentifiers() throws {
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            let table = "weird \"name\"; drop"
            try conn.query("CREATE TABLE \(identifier: table) (v text)")
            try conn.query("INSERT INTO \(identifier: table) VALUES (\("x"))")
            #expect(try conn.query("SELECT count(*) AS n FROM \(identifier: table)").rows[0].decode("n", as: Int.self) == 1)
        }
    }

    @Test func decodingErrorsNameTheColumn() throws {
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            let row = try conn.query("SELECT 'abc' AS v, NULL::int AS n").rows[0]
            #expect(throws: PostgresError.self) { try row.decode("v", as: Int.self) }
            let error = try #require(throws: PostgresError.self) { try row.decode("n", as: Int.self) }
            #expect(error.code == .decoding)
            #expect(error.message.contains("\"n\""))
        }
    }

    @Test func serverErrorsCarrySQLStateDetailAndStatement() throws {
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            try conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
            try conn.query("INSERT INTO t VALUES (\(1))")
            let error = try #require(throws: PostgresError.self) { try conn.query("INSERT INTO t VALUES (\(1))") }
            #expect(error.code == .server)
            #expect(error.sqlState == "23505")
            #expect(error.isUniqueViolation)
            #expect(error.detail?.contains("(id)=(1)") == true)
            #expect(error.statement == "INSERT INTO t VALUES ($1)")
            let syntax = try #require(throws: PostgresError.self) { try conn.execute("SELEC 1") }
            #expect(syntax.sqlState == "42601")
            // The connection is still usable after errors.
            #expect(try conn.query("SELECT 1 AS one").rows[0].decode("one", as: Int.self) == 1)
        }
    }

    @Test func failedConnectIsAnErrorNotACrash() throws {
        let error = try #require(throws: PostgresError.self) {
            try PostgresConnection("postgresql://nobody@/nodb?host=/nonexistent-dir&port=1&connect_timeout=2")
        }
        #expect(error.code == .connectionFailed)
    }

    @Test func lostConnectionIsItsOwnError() throws {
        try TestDatabase.withFreshDatabase(migrated: false) { conn, url in
            let victim = try PostgresConnection(url)
            let pid = victim.backendPID
            try conn.query("SELECT pg_terminate_backend(\(pid))")
            let error = try #require(throws: PostgresError.self) { try victim.execute("SELECT 1") }
            #expect(error.code == .connectionLost)
            #expect(!victim.isAlive)
        }
    }

    @Test func throwingTransactionRollsBack() throws {
        struct Boom: Error {}
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            try conn.execute("CREATE TABLE t (v int)")
            #expect(throws: Boom.self) {
                try conn.withTransaction { tx in
                    try tx.query("INSERT INTO t VALUES (\(1))")
                    throw Boom()
                }
            }
            #expect(try conn.query("SELECT count(*) AS n FROM t").rows[0].decode("n", as: Int.self) == 0)
            #expect(!conn.inTransaction)
            try conn.withTransaction { tx in try tx.query("INSERT INTO t VALUES (\(2))") }
            #expect(try conn.query("SELECT count(*) AS n FROM t").rows[0].decode("n", as: Int.self) == 1)
        }
    }

    @Test func caughtErrorInsideTransactionStillFailsCommit() throws {
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            try conn.execute("CREATE TABLE t (v int)")
            let error = try #require(throws: PostgresError.self) {
                try conn.withTransaction { tx in
                    try tx.query("INSERT INTO t VALUES (\(1))")
                    _ = try? tx.execute("SELECT no_such_column FROM t")
                }
            }
            #expect(error.sqlState == "25P02")
            #expect(try conn.query("SELECT count(*) AS n FROM t").rows[0].decode("n", as: Int.self) == 0)
        }
    }

    @Test func cancelInterruptsALongStatement() async throws {
        let url = try TestDatabase.fresh(migrated: false)
        let (error, seconds) = try await BlockingThread.run { () -> (String?, Double) in
            let conn = try PostgresConnection(url)
            let cancel = conn.cancelHandle()
            let canceller = Thread { Thread.sleep(forTimeInterval: 0.3); cancel?.cancel() }
            // Timed from the statement itself: connecting on a loaded machine is not the subject.
            let started = Date()
            canceller.start()
            do {
                try conn.execute("SELECT pg_sleep(30)")
                return (nil, Date().timeIntervalSince(started))
            } catch let e as PostgresError {
                return (e.sqlState, Date().timeIntervalSince(started))
            }
        }
        #expect(error == "57014")
        // pg_sleep(30) ended early: the cancel took effect (generous bound for a loaded machine).
        #expect(seconds < 25)
    }
}
