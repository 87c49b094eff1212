import EmbeddedPostgres
import Foundation
import OrderStore
import PostgresClient
import Synchronization

/// Real PostgreSQL for tests: one embedded cluster per test process (or the server named by
/// `DATABASE_URL`), and a fresh database per test cloned from a migrated template.
///
/// Cloning a template is a file copy on the server, far cheaper than migrating per test, and it
/// lets tests run in parallel without seeing each other's rows.
public enum TestDatabase {
    /// How to reach the server and the migrated template.
    public struct Server: Sendable {
        /// A URL for `database` on the test server.
        public let url: @Sendable (_ database: String) -> String
        public let templateName: String
        /// The embedded cluster, when the tests started one.
        public let cluster: EmbeddedPostgres?
        public let state: EmbeddedPostgres.State?
    }

    private static let shared = Mutex<Result<Server, TestDatabaseError>?>(nil)
    private static let counter = Atomic<Int>(0)
    private static let clusterDirectory = URL(fileURLWithPath: NSTemporaryDirectory())
        .appendingPathComponent("orderflow-test-\(getpid())")

    /// The server for this process, started (and migrated) on first use.
    public static func server() throws -> Server {
        try shared.withLock { cached in
            if cached == nil { cached = Result { try start() }.mapError { TestDatabaseError(message: "\($0)") } }
            return try cached!.get()
        }
    }

    private static func start() throws -> Server {
        let template = "orderflow_template_\(getpid())"
        let server: Server
        if let external = ProcessInfo.processInfo.environment["DATABASE_URL"], !external.isEmpty {
            server = Server(url: { db in replaceDatabase(in: external, with: db) }, templateName: template, cluster: nil, state: nil)
            atexit { TestDatabase.shutdown() }
        } else {
            var options = EmbeddedPostgres.Options()
            options.durable = false
            let cluster = try EmbeddedPostgres(directory: clusterDirectory, options: options)
            let state = try cluster.start()
            atexit { TestDatabase.shutdown() }
            try ClusterReaper.watch(cluster)
            server = Server(url: { state.url(database: $0) }, templateName: template, cluster: cluster, state: state)
        }
        let admin = try PostgresConnection(server.url("postgres"))
        try admin.execute("DROP DATABASE IF EXISTS \(PostgresQuery.quoteIdentifier(template))")
        try admin.execute("CREATE DATABASE \(PostgresQuery.quoteIdentifier(template))")
        do {
            let conn = try PostgresConnection(server.url(template))
            try Migrator().migrate(conn)
        }
        return server
    }

    /// Stops the embedded cluster and removes its files (registered with `atexit`).
    static func shutdown() {
        let server = shared.withLock { try? $0?.get() }
        guard let cluster = server?.cluster else {
            for name in unreleased.withLock({ $0 }) { drop(name) }
            return
        }
        try? cluster.stop()
        try? FileManager.default.removeItem(at: cluster.directory)
    }

    /// A new database from the migrated template, for tests that only need its URL; it is
    /// dropped when the test process exits.
    public static func fresh(migrated: Bool = true) throws -> String {
        let (name, url) = try create(migrated: migrated)
        unreleased.withLock { $0.append(name) }
        return url
    }

    private static let unreleased = Mutex<[String]>([])

    /// Creates a new database from the migrated template (or an empty one); its name and URL.
    static func create(migrated: Bool) throws -> (name: String, url: String) {
        let server = try server()
        let name = "t_\(getpid())_\(counter.add(1, ordering: .relaxed).newValue)"
        let admin = try PostgresConnection(server.url("postgres"))
        let template = migrated ? server.templateName : "template0"
        try admin.execute("CREATE DATABASE \(PostgresQuery.quoteIdentifier(name)) TEMPLATE \(PostgresQuery.quoteIdentifier(template))")
        return (name, server.url(name))
    }

    /// Drops a test's database, ending the connections still open to it (best effort).
    static func drop(_ name: String) {
        guard let server = try? server(), let admin = try? PostgresConnection(server.url("postgres")) else { return }
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(PostgresQuery.quoteIdentifier(name)) WITH (FORCE)")
    }

    /// Runs `body` with a connection to a fresh database, dropped afterwards.
    public static func withFreshDatabase<T>(migrated: Bool = true, _ body: (PostgresConnection, String) throws -> T) throws -> T {
        let database = try ScratchDatabase(migrated: migrated)
        let conn = try PostgresConnection(database.url)
        return try withExtendedLifetime(database) { try body(conn, database.url) }
    }

    /// Swaps the database name of a URL or conninfo string.
    static func replaceDatabase(in url: String, with db: String) -> String {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            guard var comps = URLComponents(string: url) else { return url }
            comps.path = "/" + db
            return comps.string ?? url
        }
        return url + " dbname=\(db)"
    }
}

/// The test database could not be set up.
public struct TestDatabaseError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { "test database: \(message)" }
}
