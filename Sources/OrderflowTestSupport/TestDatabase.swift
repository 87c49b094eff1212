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
        } else {
            var options = EmbeddedPostgres.Options()
            options.durable = false
            let cluster = try EmbeddedPostgres(directory: clusterDirectory, options: options)
            let state = try cluster.start()
            atexit { TestDatabase.shutdown() }
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
        guard let cluster = server?.cluster else { return }
        try? cluster.stop()
        try? FileManager.default.removeItem(at: cluster.directory)
    }

    /// Creates a new database from the migrated template and returns its URL.
    public static func fresh(migrated: Bool = true) throws -> String {
        let server = try server()
        let name = "t_\(getpid())_\(counter.add(1, ordering: .relaxed).newValue)"
        let admin = try PostgresConnection(server.url("postgres"))
        let template = migrated ? server.templateName : "template0"
        try admin.execute("CREATE DATABASE \(PostgresQuery.quoteIdentifier(name)) TEMPLATE \(PostgresQuery.quoteIdentifier(template))")
        return server.url(name)
    }

    /// Runs `body` with a connection to a fresh database.
    public static func withFreshDatabase<T>(migrated: Bool = true, _ body: (PostgresConnection, String) throws -> T) throws -> T {
        let url = try fresh(migrated: migrated)
        let conn = try PostgresConnection(url)
        return try body(conn, url)
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
