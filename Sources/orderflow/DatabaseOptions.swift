import ArgumentParser
import EmbeddedPostgres
import Foundation
import PostgresClient

/// Where the database is, chosen in the order README.md gives; shared by every command.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "PostgreSQL URL or conninfo (default: DATABASE_URL, PG* variables, else the embedded cluster).")
    var database: String?

    @Option(name: .long, help: "Directory of the embedded cluster (default: ORDERFLOW_HOME or ./.orderflow).")
    var dataDir: String?

    /// The environment variables libpq reads by itself; any of them means "the user configured libpq".
    static let libpqVariables = ["PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE", "PGSERVICEFILE"]

    enum Choice: Equatable {
        case url(String, from: String)
        case libpqEnvironment
        case embedded
    }

    /// The first configured source, in README.md's order.
    func choice(environment: [String: String] = ProcessInfo.processInfo.environment) -> Choice {
        if let database, !database.isEmpty { return .url(database, from: "--database") }
        if let url = environment["DATABASE_URL"], !url.isEmpty { return .url(url, from: "DATABASE_URL") }
        if Self.libpqVariables.contains(where: { environment[$0]?.isEmpty == false }) { return .libpqEnvironment }
        return .embedded
    }

    /// The embedded cluster's directory.
    func embeddedCluster() throws -> EmbeddedPostgres {
        let env = ProcessInfo.processInfo.environment
        let path = dataDir ?? env["ORDERFLOW_HOME"] ?? ".orderflow"
        let url = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        return try EmbeddedPostgres(directory: url.appendingPathComponent("postgres"))
    }

    /// A conninfo/URL for libpq, starting the embedded cluster when it is the choice.
    func resolve(quiet: Bool = false) throws -> String {
        switch choice() {
        case let .url(url, _):
            return url
        case .libpqEnvironment:
            return ""
        case .embedded:
            let cluster = try embeddedCluster()
            let wasRunning = cluster.isRunning()
            let state = try cluster.start()
            if !quiet {
                note("orderflow: using the embedded database \(state.url())\(wasRunning ? "" : " (started now; stop it with `orderflow db stop`)")")
            }
            return state.url()
        }
    }

    /// Opens a connection to the chosen database.
    func connect(quiet: Bool = false) throws -> PostgresConnection {
        try PostgresConnection(try resolve(quiet: quiet))
    }
}
