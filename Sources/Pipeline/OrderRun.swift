import Feeds
import Foundation
import OrderModel
import OrderStore
import PostgresClient

/// How a run should behave beyond its pipeline definition.
public struct RunOptions: Sendable {
    public var dryRun = false
    /// Re-run an input that was already applied (the diff then makes it a no-op).
    public var force = false
    /// How long to wait for another bulk run's lock before giving up.
    public var lockTimeoutSeconds = 60.0
    /// Staging chunk size handed from the reader thread to COPY.
    public var chunkSize = 1 << 20
    /// Set by whoever may stop the run (the CLI's SIGINT/SIGTERM handler).
    public var cancellation: RunCancellation?
    /// Load orders that can only be creates straight into the final tables when the source has
    /// no orders yet (see `FirstLoadRows`); off, every row is staged (tests compare the two).
    public var firstLoad = true
    /// Called between the diff and the apply (tests use it to play a concurrent writer).
    public var beforeApply: (@Sendable () throws -> Void)?
    public init() {}
}

/// Lets another thread (a signal handler) stop a run: the statement in flight is cancelled on the
/// server, the transaction rolls back, and the run throws `RunError.cancelled`. Once COMMIT has
/// begun it is too late, and the request is refused.
public final class RunCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var reason: String?
    private var handle: CancelHandle?
    private var committing = false

    public init() {}

    /// Asks the run to stop; false when it is already committing.
    @discardableResult
    public func cancel(reason: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if committing { return false }
        if self.reason == nil {
            self.reason = reason
            handle?.cancel()
        }
        return true
    }

    var requested: String? {
        lock.lock()
        defer { lock.unlock() }
        return reason
    }

    func attach(_ handle: CancelHandle?) {
        lock.lock()
        defer { lock.unlock() }
        self.handle = handle
        if reason != nil { handle?.cancel() }
    }

    /// Throws if cancellation was asked for.
    func check() throws {
        if let r = requested { throw RunError.cancelled(r) }
    }

    /// The point of no return: after this, cancel requests are refused.
    func beginCommit() throws {
        lock.lock()
        defer { lock.unlock() }
        if let r = reason { throw RunError.cancelled(r) }
        committing = true
    }
}

/// Why a run stopped without applying; the CLI maps these to exit codes 2 and 3.
public enum RunError: Error, CustomStringConvertible, Sendable {
    /// Bad pipeline or feed shape (exit 2).
    case configuration(String)
    /// A guard was exceeded (exit 3); the report says which.
    case guardExceeded(String)
    /// Counts did not reconcile: a bug, never applied.
    case reconciliation(String)
    /// Stopped on request (SIGINT/SIGTERM); rolled back.
    case cancelled(String)
    /// Another writer changed orders this run was about to change (exit 1); rolled back.
    case concurrentChange(String)

    public var description: String {
        switch self {
        case .configuration(let m), .guardExceeded(let m), .reconciliation(let m), .cancelled(let m), .concurrentChange(let m): return m
        }
    }
}

/// An orders run: read → validate → stage → diff → guards → apply → report, in one transaction.
public struct OrderRun {
    public let definition: PipelineDefinition
    public let inputs: [String]
    public let options: RunOptions

    /// Advisory-lock key shared by every bulk writer, so runs never interleave.
    public static let lockKey: Int64 = 0x6f72_6466_6c6f_7721 // "ordflow!"

    public init(definition: PipelineDefinition, inputs: [String], options: RunOptions = RunOptions()) {
        self.definition = definition
        self.inputs = inputs
        self.options = options
    }

    /// Runs against `conn`. `finish` writes the final report and the reject list before COMMIT
    /// (and before ROLLBACK for dry, aborted and skipped runs), so a run whose report cannot be
    /// written applies nothing; it returns the report as written (with its rejects file), which
    /// the run returns. Throws after calling `finish` for aborted runs.
    public func run(on conn: PostgresConnection, runId: String,
                    finish: (RunReport, RejectList?) throws -> RunReport) throws -> RunReport {
        do {
            return try runInTransaction(on: conn, runId: runId, finish: finish)
        } catch {
            // A cancelled statement surfaces as a server error (57014) or a broken COPY; say why.
            if let reason = options.cancellation?.requested { throw RunError.cancelled(reason) }
            throw error
        }
    }

    private func runInTransaction(on conn: PostgresConnection, runId: String,
                                  finish: (RunReport, RejectList?) throws -> RunReport) throws -> RunReport {
        let cancellation = options.cancellation
        let clock = StageClock()
        var report = RunReport(runId: runId, pipeline: definition.name, pipelineFile: definition.file,
                               kind: definition.kind.rawValue, mode: definition.mode.rawValue, source: definition.source,
                               dryRun: options.dryRun, outcome: .failed, database: conn.target,
                               startedAt: Timestamp.now.description)
        // stdin cannot be read twice (the rejects file needs a second pass): spool it once.
        let spooled = try inputs.map { try $0 == "-" ? InputSpool.spoolStandardInput() : $0 }
        defer { for (i, path) in spooled.enumerated() where inputs[i] == "-" { unlink(path) } }

        var digests: [String] = []
        for (i, path) in spooled.enumerated() {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
            let digest = try clock.measure("hash", rows: 0) { try SHA256.hex(of: path) }
            digests.append(digest)
            report.inputs.append(RunReport.Input(name: inputs[i] == "-" ? "stdin" : inputs[i], sha256: digest, bytes: size,
                                                 format: definition.format(forFile: inputs[i]).rawValue))
        }
        let runDigest = digests.count == 1 ? digests[0] : SHA256.hex(SHA256.hash(Array(digests.joined(separator: "\n").utf8)))

        try conn.execute("BEGIN")
        var committed = false
        defer { if !committed { conn.rollbackQuietly() } }
        cancellation?.attach(conn.cancelHandle())
        defer { cancellation?.attach(nil) }

        try acquireLock(conn)
        try conn.query("SELECT set_config('work_mem', '256MB', true)")
        // Staging tables live in the session's local buffers (8 MB by default), which COPY of
        // millions of rows would churn; the setting must come before the first temp table.
        // 1 GB holds the staging of a 1M-order feed, so the diff's scans stay in memory (3-4 s
        // of a 15 s diff); it is an upper bound, allocated only as the tables grow.
        // A session that already used temp tables refuses the change; the savepoint keeps that
        // refusal from aborting the transaction.
        try conn.execute("SAVEPOINT temp_buffers")
        if (try? conn.query("SELECT set_config('temp_buffers', '1GB', true)")) == nil {
            try conn.execute("ROLLBACK TO SAVEPOINT temp_buffers")
        }
        try conn.execute("RELEASE SAVEPOINT temp_buffers")
        try Migrator().requireCurrent(conn)

        let earlier = try conn.query("""
            SELECT id, finished_at FROM import_runs
            WHERE pipeline = \(definition.name) AND input_sha256 = \(runDigest) AND status = 'applied'
            ORDER BY id DESC LIMIT 1
            """)
        if !options.force, let previous = earlier.first {
            report.outcome = .skipped
            report.message = "this input was already applied by run \(previous["id"] ?? "?") at \(previous["finished_at"] ?? "?"); nothing to do (use --force to diff it again)"
            report.finishedAt = Timestamp.now.description
            return try finish(report, nil)
        }

        let now = Timestamp.now
        let importRunId = try conn.query("""
            INSERT INTO import_runs (pipeline, kind, input_name, input_sha256, started_at, status)
            VALUES (\(definition.name), \(definition.kind.rawValue), \(report.inputs.map(\.name).joined(separator: ", ")), \(runDigest), \(now), 'running')
            RETURNING id
            """).rows[0].decode("id", as: Int64.self)
        report.importRunId = importRunId

        let sourceOrders: Int
        switch definition.kind {
        case .tracking:
            try stageAndDiffTracking(conn, inputs: spooled, clock: clock, report: &report)
            sourceOrders = 0
        case .orders, .export:
            sourceOrders = try stageAndDiffOrders(conn, inputs: spooled, clock: clock, report: &report, now: now)
        }

        // With no rejects the list is empty: skip its query (a scan of every staged row).
        let rejectListSQL = definition.kind == .tracking ? TrackingDiffSQL.rejectList : OrderDiffSQL.rejectList
        let rejects = try clock.measure("rejects", rows: report.counts.recordsRejected) {
            report.counts.recordsRejected == 0 ? try RejectList.create() : try collectRejects(conn, sql: rejectListSQL, into: &report)
        }
        defer { unlink(rejects.path) }

        if let violation = guardViolation(report.counts, sourceOrders: sourceOrders) {
            report.outcome = .aborted
            report.message = violation
            report.stages = clock.stages
            report.finishedAt = Timestamp.now.description
            _ = try finish(report, rejects)
            throw RunError.guardExceeded(violation)
        }

        // Every statement gets all three parameters; the unused CTE gives each one a type even
        // where a statement does not use it (else: "could not determine data type").
        let binds: [String?] = [definition.source, String(importRunId), now.postgresText]
        let params = "WITH run_params AS (SELECT $1::text, $2::bigint, $3::timestamptz) "
        try options.beforeApply?()
        for statement in applyStatements(report) where statement.needed {
            let rows = try step(conn, clock, statement.name, params + statement.sql, binds)
            // Rows that another writer (the API) changed after the diff read them are skipped by
            // the statement's updated_at check: applying the rest would report what did not
            // happen, and overwriting them would lose that writer's update.
            if let expected = statement.expected, rows != expected {
                throw RunError.concurrentChange("\(expected - rows) of \(expected) orders were changed by another writer while this run was diffing (\(statement.name)); nothing was applied: run it again")
            }
        }

        report.outcome = options.dryRun ? .dryRun : .applied
        report.stages = clock.stages
        report.finishedAt = Timestamp.now.description
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let countsJSON = String(decoding: try encoder.encode(report.counts), as: UTF8.self)
        let reportJSON = String(decoding: try encoder.encode(report), as: UTF8.self)
        try conn.query("""
            UPDATE import_runs SET status = 'applied', finished_at = \(Timestamp.now), counts = \(countsJSON)::jsonb, report = \(reportJSON)::jsonb
            WHERE id = \(importRunId)
            """)
        report = try finish(report, rejects)
        FaultInjection.point("report written")
        if options.dryRun { return report } // the deferred ROLLBACK undoes everything
        try cancellation?.beginCommit()
        FaultInjection.point("commit")
        try conn.execute("COMMIT")
        committed = true
        // A bulk change leaves the planner's statistics stale for the next run (and for the
        // API) until autovacuum gets round to it; refresh them now when the change was large.
        let changed = report.counts.created + report.counts.deleted + report.counts.mirrorDeleted
        if changed > 10_000 {
            _ = try? conn.execute("ANALYZE orders; ANALYZE order_items")
        }
        return report
    }

    /// Each statement is timed on its own: the report shows where a slow run spends its time.
    @discardableResult
    func step(_ conn: PostgresConnection, _ clock: StageClock, _ name: String, _ sql: String, _ binds: [String?] = []) throws -> Int {
        try options.cancellation?.check()
        return try clock.measure(name, rows: { (r: PostgresResult) in r.affectedRows }) {
            try conn.query(PostgresQuery(unsafeSQL: sql, binds: binds))
        }.affectedRows
    }

    /// Reads the order feeds into the staging tables and classifies every staged order; fills
    /// the report's counts. Returns how many orders the source has (for the mirror guard).
    private func stageAndDiffOrders(_ conn: PostgresConnection, inputs: [String], clock: StageClock, report: inout RunReport,
                                    now: Timestamp) throws -> Int {
        try conn.execute(OrderDiffSQL.createLines)
        try conn.execute(OrderDiffSQL.createOrders)
        let sizes = report.inputs.map(\.bytes)
        var firstLoaded: OrderFeedReader.Stats?
        if options.firstLoad, try conn.query(PostgresQuery(unsafeSQL: OrderDiffSQL.sourceIsEmpty, binds: [definition.source])).rows[0].decode("empty", as: Bool.self) {
            try conn.execute("SAVEPOINT first_load")
            firstLoaded = try firstLoad(conn, inputs: inputs, sizes: sizes, clock: clock, now: now)
            if firstLoaded == nil {
                // A staged row names an order loaded directly: stage everything instead.
                try conn.execute("ROLLBACK TO SAVEPOINT first_load")
            }
            try conn.execute("RELEASE SAVEPOINT first_load")
        }
        let readStats = try firstLoaded ?? clock.measure("read+stage", rows: { $0.records }) {
            let reader = OrderFeedReader(definition: definition, chunkSize: options.chunkSize)
            return try stage(conn, copy: OrderDiffSQL.copyLines, inputs: inputs, sizes: sizes) { path, i, stats, progress, emit in
                try reader.read(path: path, fileNumber: i, stats: &stats, progress: progress) { _, chunk in try emit(chunk) }
            }
        }
        // Temp tables get no statistics from autovacuum; without them the planner assumes
        // they are tiny and picks nested loops that take minutes on large feeds.
        try step(conn, clock, "diff: analyze staging", "ANALYZE stage_lines")
        try step(conn, clock, "diff: classify orders", OrderDiffSQL.classify(byOrderId: readStats.idKeyedGroups > 0), [definition.source, definition.enforceTransitions ? "true" : "false"])
        try step(conn, clock, "diff: analyze orders", "ANALYZE stage_orders")
        // Two staged orders reach one stored order only through an id and a ref: external refs
        // are unique per source.
        if readStats.idKeyedGroups > 0 {
            try step(conn, clock, "diff: duplicate targets", OrderDiffSQL.rejectDuplicateTargets)
        }
        if try conn.query(PostgresQuery(unsafeSQL: OrderDiffSQL.anyRenumber)).rows[0].decode("any", as: Bool.self) {
            try step(conn, clock, "diff: renumber lines", OrderDiffSQL.renumber)
        }
        try step(conn, clock, "diff: compare items", OrderDiffSQL.flagItemChanges)
        // A first load found the source empty: a mirror run has nothing to delete.
        if definition.mode == .mirror && firstLoaded == nil {
            try step(conn, clock, "diff: mirror deletes", OrderDiffSQL.addMirrorDeletes, [definition.source])
        }
        let summary = try conn.query(PostgresQuery(unsafeSQL: OrderDiffSQL.summary,
                                                   binds: [definition.source, definition.mode == .mirror ? "true" : "false"])).rows[0]
        report.counts = try counts(summary)
        if let loaded = firstLoaded {
            report.counts.recordsRead += loaded.firstLoadRecords
            report.counts.recordsAccepted += loaded.firstLoadRecords
            report.counts.orders += loaded.firstLoadOrders
            report.counts.created += loaded.firstLoadOrders
            report.firstLoadOrders = loaded.firstLoadOrders
        }
        try reconcile(report.counts, read: readStats)
        return try summary.decode("source_orders", as: Int.self)
    }

    /// A first load (see `FirstLoadRows`): reads the feed once, COPYing orders that can only be
    /// creates straight into `orders` while it reads, their items into `order_items` after, and
    /// everything else into the staging table. Nil when a staged row names one of the orders
    /// loaded directly; the caller then rolls back to its savepoint and stages everything.
    private func firstLoad(_ conn: PostgresConnection, inputs: [String], sizes: [Int64], clock: StageClock,
                           now: Timestamp) throws -> OrderFeedReader.Stats? {
        let items = try SpoolFile(purpose: "items"), staged = try SpoolFile(purpose: "staging")
        let reader = OrderFeedReader(definition: definition, chunkSize: options.chunkSize,
                                     firstLoad: (source: definition.source, now: now))
        try items.write(CopyBinaryFormat.header)
        let stats = try clock.measure("read+load orders", rows: { $0.firstLoadOrders }) {
            try stage(conn, copy: OrderDiffSQL.copyFirstLoadOrders, inputs: inputs, sizes: sizes, textRows: false) { path, i, stats, progress, emit in
                // One binary stream over all inputs: its header before the first, trailer after the last.
                if i == 0 { try emit(CopyBinaryFormat.header) }
                try reader.read(path: path, fileNumber: i, stats: &stats, progress: progress) { stream, chunk in
                    switch stream {
                    case .firstLoadOrders: try emit(chunk)
                    case .firstLoadItems: try items.write(chunk)
                    case .staging: try staged.write(chunk)
                    }
                }
                if i == inputs.count - 1 { try emit(CopyBinaryFormat.trailer) }
            }
        }
        try items.write(CopyBinaryFormat.trailer)
        try clock.measure("load items", rows: stats.firstLoadLines) {
            try options.cancellation?.check()
            _ = try conn.copyIn(OrderDiffSQL.copyFirstLoadItems) { try items.copy(into: &$0) }
        }
        try clock.measure("stage the rest", rows: stats.records - stats.firstLoadRecords) {
            try options.cancellation?.check()
            _ = try conn.copyIn(OrderDiffSQL.copyLines) { try staged.copy(into: &$0) }
        }
        let overlap = try conn.query(PostgresQuery(unsafeSQL: OrderDiffSQL.firstLoadOverlap, binds: [definition.source]))
        return try overlap.rows[0].decode("overlap", as: Bool.self) ? nil : stats
    }

    /// The apply statements of this run's kind, each with whether the counts say it has work
    /// (a statement with nothing to do would still scan every staged row).
    /// `expected`: the rows a statement that guards against concurrent writers must touch.
    private func applyStatements(_ report: RunReport) -> [(name: String, sql: String, needed: Bool, expected: Int?)] {
        let c = report.counts
        if let t = report.tracking {
            return [
                ("apply: update status", TrackingDiffSQL.updateStatus, t.statusChanged + t.confirmed > 0, t.statusChanged + t.confirmed),
                ("apply: update shipping", TrackingDiffSQL.updateShipping, t.shippingUpdated > 0, t.shippingUpdated),
                ("apply: history events (status)", TrackingDiffSQL.insertStatusEvents, t.statusChanged > 0, nil),
                ("apply: history events (shipping)", TrackingDiffSQL.insertShippingEvents, t.shippingUpdated > 0, nil),
            ]
        }
        let deletes = c.deleted + c.mirrorDeleted
        let loaded = report.firstLoadOrders ?? 0
        return [
            ("apply: history events (first load)", OrderDiffSQL.insertFirstLoadEvents, loaded > 0, loaded),
            ("apply: insert orders", OrderDiffSQL.insertOrders, c.created > loaded, nil),
            ("apply: insert items", OrderDiffSQL.insertCreatedItems, c.created > loaded, nil),
            ("apply: update orders", OrderDiffSQL.updateOrders, c.updated > 0, c.updated),
            ("apply: delete changed items", OrderDiffSQL.deleteChangedItems, c.itemsChanged > 0, nil),
            ("apply: insert changed items", OrderDiffSQL.insertChangedItems, c.itemsChanged > 0, nil),
            ("apply: history events", OrderDiffSQL.insertEvents(eventKinds(c, firstLoaded: loaded)), !eventKinds(c, firstLoaded: loaded).isEmpty, nil),
            ("apply: delete orders", OrderDiffSQL.deleteOrders, deletes > 0, deletes),
        ]
    }

    /// The history kinds this run writes, from its counts.
    private func eventKinds(_ c: RunReport.Counts, firstLoaded: Int) -> Set<OrderDiffSQL.EventKind> {
        var kinds = Set<OrderDiffSQL.EventKind>()
        if c.created > firstLoaded { kinds.insert(.created) }
        if c.statusChanged > 0 { kinds.insert(.statusChanged) }
        if c.shippingChanged > 0 { kinds.insert(.shippingUpdated) }
        if c.itemsChanged > 0 { kinds.insert(.itemsChanged) }
        if c.otherChanged > 0 { kinds.insert(.updated) }
        if c.deleted + c.mirrorDeleted > 0 { kinds.insert(.deleted) }
        return kinds
    }

    /// Takes the bulk-run lock, waiting up to the timeout when another run holds it.
    private func acquireLock(_ conn: PostgresConnection) throws {
        let got = try conn.query("SELECT pg_try_advisory_xact_lock(\(Self.lockKey)) AS ok").rows[0].decode("ok", as: Bool.self)
        if got { return }
        FileHandle.standardError.write(Data("orderflow: another bulk run holds the lock; waiting up to \(Int(options.lockTimeoutSeconds)) s (--lock-timeout)\n".utf8))
        try conn.query("SELECT set_config('lock_timeout', \("\(Int(options.lockTimeoutSeconds * 1000))ms"), true)")
        do {
            try conn.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))")
        } catch let error as PostgresError where error.isLockTimeout {
            throw RunError.configuration("another orderflow run kept the bulk-run lock for more than \(Int(options.lockTimeoutSeconds)) s; try again later or raise --lock-timeout")
        }
        try conn.query("SELECT set_config('lock_timeout', '0', true)")
    }

    /// Reader thread → bounded channel → COPY on this thread: parsing overlaps with the server.
    /// `read` reads one input (path, file number) into COPY chunks.
    /// `textRows`: the chunks are COPY text, whose newlines count the rows for the progress line.
    func stage(_ conn: PostgresConnection, copy: String, inputs: [String], sizes: [Int64], textRows: Bool = true,
               read: @escaping @Sendable (String, Int, inout OrderFeedReader.Stats, (Int64) -> Void, ([UInt8]) throws -> Void) throws -> Void) throws -> OrderFeedReader.Stats {
        let channel = ChunkChannel(capacity: 8)
        let result = ThreadResult<Result<OrderFeedReader.Stats, any Error>>()
        let meter = ProgressMeter(totalBytes: sizes.reduce(0, +), countsRows: textRows)
        let thread = Thread {
            var stats = OrderFeedReader.Stats()
            do {
                var done: Int64 = 0
                for (i, path) in inputs.enumerated() {
                    try read(path, i, &stats, { meter.update(done + $0) }) { try channel.send($0) }
                    done += sizes[i]
                }
                channel.finish()
                result.set(.success(stats))
            } catch {
                channel.finish(error: error)
                result.set(.failure(error))
            }
        }
        thread.name = "orderflow.reader"
        thread.stackSize = 8 << 20
        thread.start()
        do {
            try conn.copyIn(copy, bufferSize: options.chunkSize) { writer in
                while let chunk = try channel.receive() {
                    try options.cancellation?.check()
                    try writer.write(chunk)
                    FaultInjection.point("read+stage: first chunk")
                    meter.show(rows: chunk)
                }
            }
            meter.finish()
        } catch {
            meter.finish()
            channel.cancel()
            _ = result.wait()
            if let missing = error as? OrderFeedReader.MissingColumns { throw RunError.configuration(missing.description) }
            throw error
        }
        return try result.wait().get()
    }

    private func counts(_ row: PostgresRow) throws -> RunReport.Counts {
        var c = RunReport.Counts()
        c.recordsRead = try row.decode("records")
        c.recordsRejected = try row.decode("row_rejected_records", as: Int.self) + row.decode("order_rejected_records", as: Int.self)
        c.recordsAccepted = c.recordsRead - c.recordsRejected
        c.orders = try row.decode("orders")
        c.created = try row.decode("created")
        c.updated = try row.decode("updated")
        c.unchanged = try row.decode("unchanged")
        c.deleted = try row.decode("deleted")
        c.mirrorDeleted = try row.decode("mirror_deleted")
        c.rejectedOrders = try row.decode("rejected")
        c.statusChanged = try row.decode("status_changed")
        c.shippingChanged = try row.decode("shipping_changed")
        c.itemsChanged = try row.decode("items_changed")
        c.otherChanged = try row.decode("other_changed")
        return c
    }

    /// The run fails rather than apply numbers that do not add up.
    private func reconcile(_ c: RunReport.Counts, read: OrderFeedReader.Stats) throws {
        if c.recordsRead != read.records {
            throw RunError.reconciliation("read \(read.records) records but staged \(c.recordsRead)")
        }
        if c.recordsAccepted + c.recordsRejected != c.recordsRead {
            throw RunError.reconciliation("records: \(c.recordsAccepted) accepted + \(c.recordsRejected) rejected ≠ \(c.recordsRead) read")
        }
        let sum = c.created + c.updated + c.unchanged + c.deleted + c.rejectedOrders
        if sum != c.orders {
            throw RunError.reconciliation("orders: created + updated + unchanged + deleted + rejected = \(sum) ≠ \(c.orders) accepted orders")
        }
    }

    private func guardViolation(_ c: RunReport.Counts, sourceOrders: Int) -> String? {
        switch definition.guards.maxRejects {
        case .count(let max) where c.recordsRejected > max:
            return "\(c.recordsRejected) records rejected, more than the guard allows (max_rejects: \(max)); nothing applied"
        case .percent(let p) where c.recordsRead > 0 && Double(c.recordsRejected) * 100 / Double(c.recordsRead) > p:
            return String(format: "%.2f%% of records rejected (%d of %d), more than the guard allows (max_rejects: %g%%); nothing applied",
                          Double(c.recordsRejected) * 100 / Double(c.recordsRead), c.recordsRejected, c.recordsRead, p)
        default:
            break
        }
        guard definition.mode == .mirror else { return nil }
        let deletes = c.deleted + c.mirrorDeleted
        if c.orders == 0 && deletes > 0 {
            return "the feed holds no orders; a mirror run would delete all \(deletes) orders of source \(definition.source). Refused; nothing applied"
        }
        if sourceOrders > 0 && Double(deletes) / Double(sourceOrders) > definition.guards.maxDeleteRatio {
            return String(format: "mirror run would delete %d of %d orders of source %@ (%.1f%%), more than max_delete_ratio %.1f%%; nothing applied",
                          deletes, sourceOrders, definition.source, Double(deletes) * 100 / Double(sourceOrders), definition.guards.maxDeleteRatio * 100)
        }
        return nil
    }

    /// Streams the reject list into a temporary file, counting reasons and keeping examples.
    func collectRejects(_ conn: PostgresConnection, sql: String, into report: inout RunReport) throws -> RejectList {
        let list = try RejectList.create()
        guard let handle = FileHandle(forWritingAtPath: list.path) else {
            throw RunError.configuration("cannot write \(list.path)")
        }
        defer { try? handle.close() }
        var byReason: [String: Int] = [:]
        var examples: [String: [RunReport.RejectExample]] = [:]
        let names = report.inputs.map(\.name)
        try conn.copyOut(sql) { chunk in
            handle.write(Data(chunk))
            var row = ArraySlice(Array(chunk))
            if row.last == 0x0A { row = row.dropLast() }
            if let e = RejectList.parse(row) {
                byReason[e.reason, default: 0] += 1
                if examples[e.reason, default: []].count < 5 {
                    examples[e.reason, default: []].append(RunReport.RejectExample(input: names.indices.contains(e.file) ? names[e.file] : "?", line: e.line, message: e.message))
                }
            }
        }
        report.rejectsByReason = byReason
        report.rejectExamples = examples
        return list
    }
}

/// Times the stages of a run for the report.
final class StageClock {
    private(set) var stages: [RunReport.Stage] = []

    func measure<T>(_ name: String, rows: Int, _ body: () throws -> T) rethrows -> T {
        try measure(name, rows: { _ in rows }, body)
    }

    func measure<T>(_ name: String, rows: (T) -> Int, _ body: () throws -> T) rethrows -> T {
        FaultInjection.point(name)
        let start = DispatchTime.now().uptimeNanoseconds
        let value = try body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let i = stages.firstIndex(where: { $0.name == name }) {
            stages[i].seconds += seconds
            stages[i].rows += rows(value)
        } else {
            stages.append(RunReport.Stage(name: name, seconds: seconds, rows: rows(value)))
        }
        return value
    }
}

extension Timestamp {
    /// The current time.
    public static var now: Timestamp {
        Timestamp(microseconds: Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()))
    }
}

/// Standard input copied to a temporary file, so it can be hashed and read twice.
enum InputSpool {
    static func spoolStandardInput() throws -> String {
        let path = NSTemporaryDirectory() + "/orderflow-stdin-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw RunError.configuration("cannot create \(path) to hold standard input") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            try buffer.withUnsafeBytes { try writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<n]), name: path) }
        }
        return path
    }
}

/// "read 45% of 120 MB, 180k rows/s, 38 MB/s, ETA 2 s" on stderr once a second, only when it is a terminal.
final class ProgressMeter: @unchecked Sendable {
    private let totalBytes: Int64
    private let enabled = isatty(2) == 1
    private let lock = NSLock()
    private var bytes: Int64 = 0
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastShown: UInt64 = 0
    private var shown = false
    private var rows = 0

    private let countsRows: Bool

    init(totalBytes: Int64, countsRows: Bool = true) {
        self.totalBytes = max(totalBytes, 1)
        self.countsRows = countsRows
    }

    /// Called by the reader thread with the input bytes consumed so far.
    func update(_ bytes: Int64) {
        lock.lock(); self.bytes = bytes; lock.unlock()
    }

    /// Called by the COPY thread with each staged chunk; prints at most once a second.
    func show(rows chunk: [UInt8]) {
        guard enabled else { return }
        if countsRows { rows += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastShown > 1_000_000_000 else { return }
        lastShown = now
        lock.lock(); let b = bytes; lock.unlock()
        let seconds = Double(now - start) / 1e9
        let rate = Double(b) / max(seconds, 0.001)
        let eta = rate > 0 ? Double(totalBytes - b) / rate : 0
        let rowRate = countsRows ? String(format: "%.0fk rows/s, ", Double(rows) / max(seconds, 0.001) / 1000) : ""
        let line = String(format: "\rorderflow: read %3.0f%% of %.1f MB, %@%.1f MB/s, ETA %.0f s   ",
                          Double(b) * 100 / Double(totalBytes), Double(totalBytes) / 1e6, rowRate, rate / 1e6, eta)
        FileHandle.standardError.write(Data(line.utf8))
        shown = true
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
