import Foundation
import PostgresClient

/// What every database test starts from: a fresh migrated database of its own, a connection
/// to it and a scratch directory; both are removed when the last copy of the fixture goes.
public struct DatabaseFixture {
    public let url: String
    public let conn: PostgresConnection
    private let database: ScratchDatabase
    private let scratch: TemporaryDirectory

    /// The header of the canonical orders CSV (one row per line item).
    public static let ordersHeader = "external_ref,customer_id,status,currency,created_at,tracking_company,tracking_number,product_id,quantity,unit_price\n"

    public init(prefix: String = "of-test", migrated: Bool = true) throws {
        database = try ScratchDatabase(migrated: migrated)
        url = database.url
        conn = try PostgresConnection(url)
        scratch = try TemporaryDirectory(prefix: prefix)
    }

    /// The scratch directory.
    public var dir: URL { scratch.url }

    /// The path of `name` in the scratch directory.
    public func path(_ name: String) -> String { scratch.path(name) }

    /// Writes a feed file (gzip'd by the system's gzip when asked) and returns its path.
    public func file(_ name: String, _ content: String, gzip: Bool = false) throws -> String {
        let target = path(name)
        try Data(content.utf8).write(to: URL(fileURLWithPath: target))
        guard gzip else { return target }
        try TestProgram.gzip(["-f", target])
        return target + ".gz"
    }

    /// The first column of the first row, as text.
    public func scalar(_ sql: String, on connection: PostgresConnection? = nil) throws -> String? {
        try (connection ?? conn).query(PostgresQuery(unsafeSQL: sql)).rows.first?[0]
    }

    /// The first column of the first row as a number (-1 when it is not one).
    public func int(_ sql: String) throws -> Int { Int(try scalar(sql) ?? "") ?? -1 }

    /// A checksum of every order and item row and the history and run counts, to prove
    /// "nothing changed".
    /// The data and the applied runs (runs that did not commit are recorded too, after their rollback).
    public func fingerprint() throws -> String {
        try scalar("""
            SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
              SELECT o::text AS x FROM orders o UNION ALL SELECT i::text FROM order_items i
              UNION ALL SELECT s::text FROM shipments s UNION ALL SELECT l::text FROM shipment_lines l
              UNION ALL SELECT e::text FROM shipment_events e UNION ALL SELECT h::text FROM held_events h
              UNION ALL SELECT 'events:' || count(*) FROM order_events UNION ALL SELECT 'runs:' || count(*) FROM import_runs WHERE status = 'applied') t
            """) ?? ""
    }
}

/// A database made for one test and dropped when it is released, so none pile up on a server
/// named by `DATABASE_URL`.
final class ScratchDatabase {
    let url: String
    private let name: String

    init(migrated: Bool) throws {
        (name, url) = try TestDatabase.create(migrated: migrated)
    }

    deinit { TestDatabase.drop(name) }
}

/// A test target's own fixture built on `DatabaseFixture`: it gets the database, the scratch
/// directory and the query helpers without forwarding each one.
public protocol DatabaseFixtureBased {
    var base: DatabaseFixture { get }
}

extension DatabaseFixtureBased {
    public var url: String { base.url }
    public var conn: PostgresConnection { base.conn }
    public var dir: URL { base.dir }
    public func path(_ name: String) -> String { base.path(name) }
    public func file(_ name: String, _ content: String, gzip: Bool = false) throws -> String { try base.file(name, content, gzip: gzip) }
    public func scalar(_ sql: String, on connection: PostgresConnection? = nil) throws -> String? { try base.scalar(sql, on: connection) }
    public func int(_ sql: String) throws -> Int { try base.int(sql) }
    public func fingerprint() throws -> String { try base.fingerprint() }
}
