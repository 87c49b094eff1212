import Feeds
import Foundation
import OrderModel
import OrderStore
import PostgresClient
import RunSupport

/// A run of an orders or tracking pipeline: read → validate → stage → diff → guards → apply →
/// report, in one transaction (docs/pipeline.md).
public struct PipelineRun {
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
    /// the run returns. Throws after calling `finish` for aborted runs. Every outcome is in the
    /// run history (see `execute`).
    public func run(on conn: PostgresConnection, runId: String,
                    finish: (RunReport, RejectList?) throws -> RunReport) throws -> RunReport {
        let result = execute(on: conn, runId: runId, finish: finish)
        if let error = result.error { throw error }
        return result.report
    }

    /// What a run ended with: its final report, and the error when it did not apply.
    public struct Result {
        public var report: RunReport
        public var error: (any Error)?
    }

    /// Runs like `run`, but never throws: a run that does not commit (failed, aborted,
    /// cancelled, skipped, dry run) is written to the run history after its rollback, in a
    /// transaction of its own, with its report (written through `finish` when the run did not
    /// get that far); the result carries the error that ended it.
    public func execute(on conn: PostgresConnection, runId: String,
                        finish: (RunReport, RejectList?) throws -> RunReport) -> Result {
        let clock = StageClock()
        var report = RunReport(runId: runId, pipeline: definition.name, pipelineFile: definition.file,
                               kind: definition.kind.rawValue, mode: definition.mode.rawValue, source: definition.source,
                               dryRun: options.dryRun, outcome: .failed, database: conn.target,
                               startedAt: Timestamp.now.description)
        report.reportDirectory = options.reportDirectory
        var runDigest = ""
        var failure: (any Error)?
        do {
            report = try runInTransaction(on: conn, clock: clock, report: &report, runDigest: &runDigest, finish: finish)
            if report.outcome == .applied { return Result(report: report, error: nil) }
        } catch {
            // A cancelled statement surfaces as a server error (57014) or a broken COPY; say why.
            if let reason = options.cancellation?.requested { failure = RunError.cancelled(reason) } else { failure = error }
            report.errorCode = (failure as? RunError)?.code.description ?? (failure is PostgresError ? "database" : "error")
            if (failure as? RunError)?.code != .guardExceeded {
                // An aborted run wrote its report (with its rejects) before the rollback.
                let cancelled = (failure as? RunError)?.code == .cancelled
                report.outcome = cancelled ? .cancelled : .failed
                let message = (failure as? RunError)?.message ?? "\(failure!)"
                report.message = cancelled ? message : message + " (nothing was applied)"
                report.stages = clock.stages
                report.finishedAt = Timestamp.now.description
                // Best effort: the failure may be the report directory itself.
                if let written = try? finish(report, nil) { report = written }
            }
        }
        if let id = report.importRunId {
            do {
                try RunHistory.record(report, id: id, inputSHA256: runDigest, on: conn)
            } catch {
                report.historyError = "\(error)"
            }
        } else {
            // It never got a history id: the database has no current schema, or went away.
            report.historyError = "not recorded: the run stopped before it got a history id"
        }
        return Result(report: report, error: failure)
    }

    func runInTransaction(on conn: PostgresConnection, clock: StageClock, report: inout RunReport, runDigest: inout String,
                          finish: (RunReport, RejectList?) throws -> RunReport) throws -> RunReport {
        let cancellation = options.cancellation
        try Migrator().requireCurrent(conn)
        // The id comes from the history's sequence, which a rollback does not take back: a run
        // that ends without committing is recorded under the id its report already names.
        report.importRunId = try RunHistory.reserveId(on: conn)
        // stdin cannot be read twice (the rejects file needs a second pass): spool it once.
        let spooled = try inputs.map { try $0 == "-" ? InputSpool.spoolStandardInput() : $0 }
        defer { for (i, path) in spooled.enumerated() where inputs[i] == "-" { unlink(path) } }

        var digests: [String] = []
        for (i, path) in spooled.enumerated() {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
            let digest = try clock.measure("hash", rows: 0) { try ContentHash.sha256Hex(ofFile: path) }
            digests.append(digest)
            report.inputs.append(RunReport.Input(name: inputs[i] == "-" ? "stdin" : inputs[i], sha256: digest, bytes: size,
                                                 format: definition.format(forFile: inputs[i]).rawValue))
        }
        runDigest = digests.count == 1 ? digests[0] : ContentHash.sha256Hex(digests.joined(separator: "\n").utf8)

        try conn.execute("BEGIN")
        var committed = false
        defer { if !committed { conn.rollbackQuietly() } }
        cancellation?.attach(conn.cancelHandle())
        defer { cancellation?.attach(nil) }

        try prepareSession(conn)
        let ledger = ImportRunLedger(conn: conn, pipeline: definition.name, inputSHA256: runDigest)

        if !options.force, let previous = try ledger.lastApplied() {
            report.outcome = .skipped
            report.message = "this input was already applied by run \(previous.id) at \(previous.finishedAt); nothing to do (use --force to diff it again)"
            report.finishedAt = Timestamp.now.description
            return try finish(report, nil)
        }

        let now = Timestamp.now
        let importRunId = report.importRunId!
        try ledger.start(importRunId, kind: definition.kind.rawValue, inputNames: report.inputs.map(\.name), at: now)

        let sourceOrders: Int
        switch definition.kind {
        case .tracking, .shipments:
            try stageAndDiffTracking(conn, inputs: spooled, clock: clock, report: &report, now: now)
            sourceOrders = 0
        case .orders, .export:
            sourceOrders = try stageAndDiffOrders(conn, inputs: spooled, clock: clock, report: &report, now: now)
        }

        // With no rejects the list is empty: skip its query (a scan of every staged row).
        let rejectListSQL = definition.kind.readsEvents ? TrackingDiffSQL.rejectList(holding: definition.tracking.holdDays > 0) : OrderDiffSQL.rejectList
        let rejects = try clock.measure("rejects", rows: report.counts.recordsRejected) {
            report.counts.recordsRejected == 0 ? try RejectList.create() : try collectRejects(conn, sql: rejectListSQL, into: &report)
        }
        defer { unlink(rejects.path) }

        if let violation = guardViolation(report.counts, sourceOrders: sourceOrders) {
            report.outcome = .aborted
            report.message = violation
            report.stages = clock.stages
            report.finishedAt = Timestamp.now.description
            report = try finish(report, rejects)
            throw RunError.guardExceeded(violation)
        }

        // Every statement gets all five parameters; the unused CTE gives each one a type even
        // where a statement does not use it (else: "could not determine data type").
        let binds: [String?] = [definition.source, String(importRunId), now.postgresText, definition.name, String(definition.tracking.holdDays)]
        let params = "WITH run_params AS (SELECT $1::text, $2::bigint, $3::timestamptz, $4::text, $5::integer) "
        try options.beforeApply?()
        try applyAll(conn, clock: clock, applyStatements(report), binds: binds, params: params)
        if !definition.kind.readsEvents {
            report.releasedEvents = try releaseHeldEvents(conn, clock: clock, now: now, binds: binds, params: params)
        }

        report.outcome = options.dryRun ? .dryRun : .applied
        report.stages = clock.stages
        report.finishedAt = Timestamp.now.description
        try ledger.finish(importRunId, report: report)
        report = try finish(report, rejects)
        FaultInjection.point("report written")
        if options.dryRun { return report } // the deferred ROLLBACK undoes everything
        if let reason = cancellation?.beginCommit() { throw RunError.cancelled(reason) }
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
        try options.checkCancelled()
        return try clock.measure(name, rows: { (r: PostgresResult) in r.affectedRows }) {
            try conn.query(PostgresQuery(unsafeSQL: sql, binds: binds))
        }.affectedRows
    }
}
