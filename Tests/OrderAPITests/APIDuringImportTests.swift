import Foundation
import OrderStore
import Pipeline
import PostgresClient
import OrderflowTestSupport
import Synchronization
import Testing

/// The API writing to the same orders while a bulk import updates them all: every request is
/// answered within its lock timeout, nothing deadlocks, no update is lost (an order the API
/// cancelled stays cancelled), and the history shows both writers.
@Suite("API writes during a bulk import")
struct APIDuringImportTests {
    static let header = "external_ref,customer_id,status,currency,created_at,tracking_company,tracking_number,product_id,quantity,unit_price\n"

    func feed(_ dir: URL, name: String, orders: Int, status: String) throws -> String {
        var csv = Self.header
        for i in 0..<orders { csv += "B\(i),c\(i % 97),\(status),USD,2026-10-01T10:00:00Z,UPS,1ZB\(i),p1,1,1.00\n" }
        let path = dir.appendingPathComponent(name).path
        try Data(csv.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func importRun(_ url: String, _ path: String) throws -> RunReport {
        let definition = try PipelineDefinition.parse(yaml: "name: bulk\nkind: orders\nsource: legacy\nguards:\n  max_rejects: 100\n")
        var options = RunOptions()
        options.force = true
        return try PipelineRun(definition: definition, inputs: [path], options: options)
            .run(on: try PostgresConnection(url), runId: "bulk") { report, _ in report }
    }

    @Test func noLostUpdateNoDeadlockEveryRequestAnsweredInTime() async throws {
        let orders = 20_000
        let scratch = try TemporaryDirectory(prefix: "api-import")
        defer { withExtendedLifetime(scratch) {} }
        let dir = scratch.url
        // Setting up is blocking libpq work: on a thread of its own, not the concurrency pool.
        let (url, ids, shipAll) = try await BlockingThread.run { () -> (String, [String], String) in
            let url = try TestDatabase.fresh()
            _ = try importRun(url, try feed(dir, name: "v1.csv", orders: orders, status: "processing"))
            let shipAll = try feed(dir, name: "v2.csv", orders: orders, status: "shipped")
            let ids = try PostgresConnection(url).query("SELECT id::text AS id FROM orders WHERE external_ref IN ('B1','B500','B1000','B5000','B9000','B12000','B15000','B19999') ORDER BY external_ref")
                .rows.map { try $0.decode("id", as: String.self) }
            return (url, ids, shipAll)
        }

        // The import on a thread of its own, as `orderflow run` would be; a run that sees the
        // API's change between its diff and its apply fails and is run again.
        // A thread of its own, not the concurrency pool: blocking libpq calls there would starve
        // the API's requests of threads and measure that instead of the database's behaviour.
        let importResult = Task { try await BlockingThread.run { () -> (first: String, final: String) in
            let first: String
            do { first = "applied \(try importRun(url, shipAll).counts.updated)" } catch { first = "\(error)" }
            let final = "applied \(try importRun(url, shipAll).counts.updated)"
            return (first, final)
        } }
        let accepted = Mutex<[String]>([])
        try await APIHarness.run(conninfo: url, lockTimeout: 2_000) { client, _ in
            for id in ids {
                let started = Date()
                let response = try await client.send(.patch, "/orders/\(id)/status", json: #"{"status":"cancelled"}"#)
                let seconds = Date().timeIntervalSince(started)
                // 200, or 503 when the import held the row longer than the lock timeout.
                #expect([200, 503].contains(response.status.code), "\(response.status.code): \(response.text)")
                // Bounded, not fast: each of a request's few statements waits at most the lock
                // timeout (2 s) and runs at most the statement timeout (5 s); a deadlock or an
                // unbounded wait would blow far past this on any machine.
                #expect(seconds < 30, "a request took \(seconds) s")
                if response.status.code == 200 { accepted.withLock { $0.append(id) } }
                try await Task.sleep(for: .milliseconds(150))
            }
        }
        let (first, final) = try await importResult.value
        let cancelled = accepted.withLock { $0 }
        #expect(first.hasPrefix("applied") || first.contains("changed by another writer"), "\(first)")
        #expect(final.hasPrefix("applied"), "\(final)")
        #expect(!cancelled.isEmpty)
        let (statuses, apiEvents, shipped, shippedEvents) = try await BlockingThread.run { () -> ([String], [Int], Int, Int) in
            let conn = try PostgresConnection(url)
            let statuses = try cancelled.map { id in try conn.query("SELECT status FROM orders WHERE id = \(id)::uuid").rows[0].decode("status", as: String.self) }
            let events = try cancelled.map { id in
                try conn.query("SELECT count(*) AS n FROM order_events WHERE order_id = \(id)::uuid AND source = 'api' AND to_status = 'cancelled'").rows[0].decode("n", as: Int.self)
            }
            let shipped = try conn.query("SELECT count(*) AS n FROM orders WHERE status = 'shipped'").rows[0].decode("n", as: Int.self)
            let shippedEvents = try conn.query("SELECT count(*) AS n FROM order_events WHERE source = 'legacy' AND to_status = 'shipped'").rows[0].decode("n", as: Int.self)
            return (statuses, events, shipped, shippedEvents)
        }
        // The API's cancel is never overwritten by the import (cancelled → shipped is illegal).
        #expect(statuses.allSatisfy { $0 == "cancelled" }, "\(statuses)")
        #expect(apiEvents.allSatisfy { $0 == 1 }, "\(apiEvents)")
        #expect(shipped == orders - cancelled.count)
        #expect(shippedEvents >= orders - cancelled.count)
    }
}
