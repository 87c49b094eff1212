import Foundation
import PostgresClient

/// Waits for what another process is doing in a test's database, seen in `pg_stat_activity`:
/// the moment to kill or signal a run, and the moment the server has rolled a dead client back.
public enum DatabaseWatch {
    /// Waits until a `COPY <table>` of this database is active; false after `timeout` seconds.
    @discardableResult
    public static func waitForCopy(into table: String, on conn: PostgresConnection, timeout: Double = 8) throws -> Bool {
        try waitUntil(timeout: timeout) {
            try count(conn, "query LIKE $1 AND state = 'active'", "COPY \(table)%") > 0
        }
    }

    /// Waits until no other connection named `applicationName` is left in this database.
    @discardableResult
    public static func waitUntilGone(applicationName: String = "orderflow", on conn: PostgresConnection, timeout: Double = 10) throws -> Bool {
        try waitUntil(timeout: timeout) {
            try count(conn, "application_name = $1", applicationName) == 0
        }
    }

    private static func count(_ conn: PostgresConnection, _ condition: String, _ value: String) throws -> Int {
        try conn.query(PostgresQuery(unsafeSQL: """
            SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND \(condition)
            """, binds: [value])).rows[0].decode("n", as: Int.self)
    }

    private static func waitUntil(timeout: Double, _ condition: () throws -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return try condition()
    }
}
