import Foundation

/// The PostgreSQL server programs: from `PATH` first, then the newest `/usr/lib/postgresql/*/bin`.
public struct PostgresBinaries: Sendable {
    public let directory: URL
    public var initdb: URL { directory.appendingPathComponent("initdb") }
    public var pgCtl: URL { directory.appendingPathComponent("pg_ctl") }
    public var psql: URL { directory.appendingPathComponent("psql") }
    public var postgres: URL { directory.appendingPathComponent("postgres") }

    /// Looks for a directory that holds both `initdb` and `pg_ctl`.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresBinaries {
        let fm = FileManager.default
        func usable(_ dir: String) -> Bool {
            fm.isExecutableFile(atPath: dir + "/initdb") && fm.isExecutableFile(atPath: dir + "/pg_ctl")
        }
        var candidates: [String] = []
        if let explicit = environment["ORDERFLOW_PG_BIN"] { candidates.append(explicit) }
        candidates += (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        let versions = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        candidates += versions.map { "/usr/lib/postgresql/\($0)/bin" }
        if let dir = candidates.first(where: usable) {
            return PostgresBinaries(directory: URL(fileURLWithPath: dir))
        }
        throw EmbeddedPostgresError(message: """
            PostgreSQL server programs (initdb, pg_ctl) not found in PATH or /usr/lib/postgresql/*/bin.
            Install them with: apt-get update && apt-get install -y postgresql
            or point ORDERFLOW_PG_BIN at their directory, or give --database / DATABASE_URL.
            """)
    }
}
