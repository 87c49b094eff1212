import OrderModel
import PostgresClient

/// Brings a database to the latest schema, idempotently, and checks it is there.
public struct Migrator: Sendable {
    /// What one `migrate` call did.
    public struct Outcome: Sendable, Equatable {
        public var applied: [Int] = []
        public var transitionsSynced = false
        public var version = 0
        /// True when the database already had everything.
        public var unchanged: Bool { applied.isEmpty && !transitionsSynced }
    }

    /// Advisory-lock key so two `migrate` runs on one database take turns.
    static let lockKey: Int64 = 0x6f72_6466_6d69_6772 // "ordfmigr"

    public init() {}

    /// Applies every missing migration and syncs `order_status_transition` with the Swift rules,
    /// all in one transaction: a migration that fails leaves the database at the version before
    /// the call, with nothing of any migration applied.
    ///
    /// `upTo` stops after that version, so a test can build a database as an older release left
    /// it and then upgrade it. A database already past `upTo` is left as it is (migrations only
    /// go forward); the outcome's `version` is then the database's.
    @discardableResult
    public func migrate(_ conn: PostgresConnection, upTo target: Int = Migrations.latestVersion) throws -> Outcome {
        precondition(Migrations.all.contains { $0.version == target }, "no migration \(target) (known: 1...\(Migrations.latestVersion))")
        return try conn.withTransaction { conn in
            try conn.query("SELECT pg_advisory_xact_lock(\(Migrator.lockKey))")
            try conn.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer PRIMARY KEY,
                    name       text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            var outcome = Outcome()
            let current = try currentVersion(conn)
            if current > Migrations.latestVersion {
                throw SchemaError.databaseNewer(found: current, supported: Migrations.latestVersion)
            }
            for migration in Migrations.all where migration.version > current && migration.version <= target {
                try conn.execute(migration.sql)
                try conn.query("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))")
                outcome.applied.append(migration.version)
            }
            outcome.transitionsSynced = try syncTransitions(conn)
            outcome.version = max(current, target)
            return outcome
        }
    }

    /// The schema version of the database; 0 when it was never migrated.
    public func currentVersion(_ conn: PostgresConnection) throws -> Int {
        let exists = try conn.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
        guard try exists.rows[0].decode("present", as: Bool.self) else { return 0 }
        let row = try conn.query("SELECT coalesce(max(version), 0) AS v FROM schema_migrations").rows[0]
        return try row.decode("v", as: Int.self)
    }

    /// Throws unless the database is at exactly the version this build knows.
    public func requireCurrent(_ conn: PostgresConnection) throws {
        let version = try currentVersion(conn)
        if version < Migrations.latestVersion { throw SchemaError.databaseOlder(found: version, required: Migrations.latestVersion) }
        if version > Migrations.latestVersion { throw SchemaError.databaseNewer(found: version, supported: Migrations.latestVersion) }
    }

    /// The transition table as the database has it.
    public func storedTransitions(_ conn: PostgresConnection) throws -> Set<StatusPair> {
        var pairs = Set<StatusPair>()
        for row in try conn.query("SELECT from_status, to_status FROM order_status_transition") {
            pairs.insert(StatusPair(from: try row.decode("from_status"), to: try row.decode("to_status")))
        }
        return pairs
    }

    /// Rewrites `order_status_transition` when it differs from `OrderStatus.allowedNext`,
    /// so the SQL diff and the API share the Swift rules as their one source of truth.
    private func syncTransitions(_ conn: PostgresConnection) throws -> Bool {
        let wanted = Set(OrderStatus.allowedTransitions.map { StatusPair(from: $0.from.rawValue, to: $0.to.rawValue) })
        guard try storedTransitions(conn) != wanted else { return false }
        let sorted = wanted.sorted { ($0.from, $0.to) < ($1.from, $1.to) }
        try conn.execute("DELETE FROM order_status_transition")
        try conn.query("""
            INSERT INTO order_status_transition (from_status, to_status)
            SELECT * FROM unnest(\(sorted.map(\.from))::text[], \(sorted.map(\.to))::text[])
            """)
        return true
    }
}

/// A (from, to) status pair as stored in SQL.
public struct StatusPair: Hashable, Sendable {
    public var from: String
    public var to: String
    public init(from: String, to: String) {
        self.from = from
        self.to = to
    }
}

/// The database schema is not the one this build of orderflow expects.
public enum SchemaError: Error, CustomStringConvertible, Sendable {
    case databaseOlder(found: Int, required: Int)
    case databaseNewer(found: Int, supported: Int)

    public var description: String {
        switch self {
        case let .databaseOlder(found, required):
            return "database schema is at version \(found), this orderflow needs \(required): run `orderflow migrate`"
        case let .databaseNewer(found, supported):
            return "database schema is at version \(found), newer than this orderflow supports (\(supported)): upgrade orderflow"
        }
    }
}
