import EmbeddedPostgres
import Foundation
import PostgresClient
import Testing

@Suite("EmbeddedPostgres", .serialized)
struct EmbeddedPostgresTests {
    func tempDir(_ name: String) -> URL {
        URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("of-emb-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    }

    func options() -> EmbeddedPostgres.Options {
        var o = EmbeddedPostgres.Options()
        o.durable = false
        return o
    }

    @Test func findsServerBinaries() throws {
        let bins = try PostgresBinaries.locate()
        #expect(FileManager.default.isExecutableFile(atPath: bins.initdb.path))
        #expect(FileManager.default.isExecutableFile(atPath: bins.pgCtl.path))
        // Without PATH it still finds Debian's versioned directory.
        let fallback = try PostgresBinaries.locate(environment: ["PATH": "/nonexistent"])
        #expect(fallback.directory.path.hasPrefix("/usr/lib/postgresql/"))
    }

    @Test func startStopStartAgainKeepsData() throws {
        let dir = tempDir("restart")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cluster = try EmbeddedPostgres(directory: dir, options: options())
        let first = try cluster.start()
        #expect(cluster.isRunning())
        do {
            let conn = try PostgresConnection(first.url())
            try conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
        }
        // Starting a running cluster is a no-op that returns the same place.
        #expect(try cluster.start() == first)
        try cluster.stop()
        #expect(!cluster.isRunning())
        #expect(throws: PostgresError.self) { try PostgresConnection(first.url() + "&connect_timeout=2") }
        let second = try cluster.start()
        defer { try? cluster.stop() }
        let conn = try PostgresConnection(second.url())
        #expect(try conn.query("SELECT v FROM kept").rows[0].decode("v", as: String.self) == "still here")
    }

    @Test func twoClustersSideBySide() throws {
        let a = try EmbeddedPostgres(directory: tempDir("a"), options: options())
        let b = try EmbeddedPostgres(directory: tempDir("b"), options: options())
        defer {
            try? a.stop(); try? b.stop()
            try? FileManager.default.removeItem(at: a.directory)
            try? FileManager.default.removeItem(at: b.directory)
        }
        let sa = try a.start(), sb = try b.start()
        #expect(sa.url() != sb.url())
        let ca = try PostgresConnection(sa.url()), cb = try PostgresConnection(sb.url())
        try ca.execute("CREATE TABLE only_in_a (v int)")
        #expect(try ca.query("SELECT to_regclass('only_in_a') IS NOT NULL AS p").rows[0].decode("p", as: Bool.self))
        #expect(try !cb.query("SELECT to_regclass('only_in_a') IS NOT NULL AS p").rows[0].decode("p", as: Bool.self))
        #expect(ca.backendPID != 0 && cb.backendPID != 0)
    }
}
