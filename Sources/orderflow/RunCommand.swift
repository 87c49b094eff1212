import ArgumentParser
import Foundation
import OrderModel
import Pipeline
import PostgresClient
import Reports
import RunSupport

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Import feeds through a pipeline: read → validate → diff → apply → report, in one transaction.")

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var logging: LogOptions
    @Argument(help: "The pipeline definition (pipelines/*.yaml).") var pipeline: String
    @Argument(help: "Input files (CSV or NDJSON, gzip'd or not); - reads standard input. None with --inbox.") var inputs: [String] = []
    @Option(help: "Run every ready file of this directory, oldest name first, each as its own run (default: the pipeline's inbox: directory when no input is given).")
    var inbox: String?
    @Flag(help: "Do everything but commit; the report says what would change.") var dryRun = false
    @Flag(help: "Diff an input again even if it was already applied (a no-op when nothing changed).") var force = false
    @Option(help: "Report directory (default: reports/<run id>; with an inbox, the directory that holds one <run id> directory per file).")
    var reportDir: String?
    @Option(help: "Seconds to wait for another bulk run's lock.") var lockTimeout: Double = 60
    @Option(help: "Write the run's Prometheus metrics to this file, for node exporter's textfile collector (docs/metrics.md).")
    var metricsFile: String?

    func validate() throws {
        if inbox != nil && !inputs.isEmpty { throw ValidationError("give input files or --inbox, not both") }
        for input in inputs where input != "-" && !FileManager.default.isReadableFile(atPath: input) {
            throw ValidationError("cannot read input \(input)")
        }
    }

    func run() throws {
        logging.bootstrap()
        var options = RunOptions()
        options.dryRun = dryRun
        options.force = force
        options.lockTimeoutSeconds = lockTimeout
        let followUp = RunFollowUp(metricsFile: metricsFile)
        let code: Int32
        if inbox != nil || inputs.isEmpty {
            guard let definition = Self.loadDefinition(pipeline) else { throw Exit.usage }
            guard var settings = definition.inbox ?? inbox.map(PipelineDefinition.InboxSettings.init(directory:)) else {
                note("error: give at least one input file (or - for standard input), or --inbox DIR (or an inbox: block in \(pipeline))")
                throw Exit.usage
            }
            if let inbox { settings.directory = inbox }
            code = InboxRun(definition: definition, inbox: Inbox(settings), options: options, reportRoot: reportDir ?? "reports",
                            followUp: followUp) { try db.connect() }.run()
        } else {
            code = Self.execute(pipeline: pipeline, inputs: inputs, options: options, reportDir: reportDir, followUp: followUp) { try db.connect() }.code
        }
        if code != 0 { throw ExitCode(code) }
    }

    /// The pipeline definition, or nil after saying why it cannot be used by `run`.
    static func loadDefinition(_ pipeline: String) -> PipelineDefinition? {
        let definition: PipelineDefinition
        do {
            definition = try PipelineDefinition.load(path: pipeline)
        } catch {
            note("error: \(error)")
            return nil
        }
        guard definition.kind != .export else {
            note("error: \(pipeline): kind export pipelines are run with `orderflow export`, not `run`")
            return nil
        }
        if let problem = RunFollowUp.configurationProblem(definition) {
            note("error: \(pipeline): \(problem)")
            return nil
        }
        return definition
    }

    /// What one run ended with: its exit code (README.md) and its report (nil when the pipeline
    /// could not be loaded).
    struct Ended {
        var code: Int32
        var report: RunReport?
    }

    /// Runs one pipeline end to end, prints its summary, and returns its exit code and report.
    /// Shared by `run`, the inbox and `demo`.
    static func execute(pipeline: String, inputs: [String], options: RunOptions, reportDir: String?,
                        followUp: RunFollowUp = RunFollowUp(), connect: () throws -> PostgresConnection) -> Ended {
        guard let definition = loadDefinition(pipeline) else { return Ended(code: Exit.usage.rawValue) }
        return execute(definition: definition, inputs: inputs, options: options, reportDir: reportDir, followUp: followUp, connect: connect)
    }

    static func execute(definition: PipelineDefinition, inputs: [String], options: RunOptions, reportDir: String?,
                        runId: String? = nil, followUp: RunFollowUp, connect: () throws -> PostgresConnection) -> Ended {
        let runId = runId ?? makeRunId(definition.name)
        var options = options
        let cancellation = Cancellation()
        options.cancellation = cancellation
        // SIGINT (Ctrl-C) and SIGTERM (a scheduler stopping the job) roll the run back cleanly.
        let trap = SignalTrap([SIGINT, SIGTERM]) { signal in
            let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
            if cancellation.cancel(reason: "cancelled by \(name); nothing was applied") {
                note("orderflow: \(name): cancelling, rolling back…")
            } else {
                note("orderflow: \(name) ignored: the run is already committing")
            }
        }
        defer { trap.restore() }
        let directory = URL(fileURLWithPath: reportDir ?? "reports/\(runId)")
        options.reportDirectory = directory.path
        Console.fields.withLock { $0 = ["run_id": runId, "pipeline": definition.name] }
        defer { Console.fields.withLock { $0 = [:] } }
        let conn: PostgresConnection
        do {
            conn = try connect()
        } catch {
            // No database, so no history: the report directory and the notifications say it.
            var report = RunReport(runId: runId, pipeline: definition.name, pipelineFile: definition.file, kind: definition.kind.rawValue,
                                   mode: definition.mode.rawValue, source: definition.source, dryRun: options.dryRun, outcome: .failed,
                                   database: "(not connected)", startedAt: Timestamp.now.description)
            report.message = "\(error) (nothing was applied)"
            report.finishedAt = Timestamp.now.description
            report.reportDirectory = directory.path
            report.historyError = "not recorded: the database could not be reached"
            try? ReportWriter(directory: directory).write(report)
            note("error: \(error)")
            note("nothing was applied; report: \(directory.path)/report.md")
            followUp.finished(report, definition: definition, conn: nil)
            return Ended(code: Exit.failed.rawValue, report: report)
        }
        let run = PipelineRun(definition: definition, inputs: inputs, options: options)
        let result = run.execute(on: conn, runId: runId) { report, rejects in
            try ReportWriter(directory: directory).write(report, rejects: rejects, definition: definition, inputs: inputs)
        }
        let report = followUp.finished(result.report, definition: definition, conn: conn)
        if let historyError = report.historyError, report.importRunId != nil {
            note("warning: the run could not be recorded in the run history: \(historyError)")
        }
        guard let error = result.error else {
            printSummary(report, directory: directory)
            return Ended(code: 0, report: report)
        }
        let code: Int32
        if let error = error as? RunError {
            let message = error.message
            switch error.code {
            case .guardExceeded:
                note("aborted: \(message)")
                note("report: \(directory.path)/report.md")
                code = Exit.guardAborted.rawValue
            case .cancelled:
                note("orderflow: \(message); report: \(directory.path)/report.md")
                code = Exit.failed.rawValue
            default:
                let reconcile = error.code == .reconciliation ? "counts do not reconcile, nothing applied: " : ""
                note("error: \(reconcile)\(message)")
                code = error.code == .configuration || error.code == .lockTimeout ? Exit.usage.rawValue : Exit.failed.rawValue
            }
        } else {
            note("error: \(error)")
            note("nothing was applied; report: \(directory.path)/report.md")
            code = Exit.failed.rawValue
        }
        return Ended(code: code, report: report)
    }

    static func printSummary(_ r: RunReport, directory: URL) {
        let c = r.counts
        switch r.outcome {
        case .skipped:
            print("\(r.pipeline): skipped — \(r.message ?? "")")
        default:
            let verb = r.outcome == .applied ? "applied" : "dry run, would apply"
            if let t = r.tracking {
                print("\(r.pipeline): \(verb): \(t.statusChanged) order status changes, \(t.shipmentsAdded) shipments added, \(t.shipmentStatusChanged) shipment status changes, \(t.confirmed) confirmed; events: \(t.stale) stale, \(t.superseded) superseded, \(t.informational) informational, \(t.held) held, \(t.released) released")
                let carriers = t.byCarrier.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.events) events/\($0.value.statusChanged) changes" }
                if !carriers.isEmpty { print("  carriers: " + carriers.joined(separator: ", ")) }
            } else {
                print("\(r.pipeline): \(verb): \(c.created) created, \(c.updated) updated, \(c.unchanged) unchanged, \(c.deleted + c.mirrorDeleted) deleted, \(c.rejectedOrders) orders rejected")
            }
            print("  records: \(c.recordsRead) read, \(c.recordsAccepted) accepted, \(c.recordsRejected) rejected\(r.rejectsByReason.isEmpty ? "" : " (" + r.rejectsByReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")")")
            let total = r.stages.reduce(0) { $0 + $1.seconds }
            // The report has every statement; the console shows the phases ("diff: …" → "diff").
            var phases: [(String, Double)] = []
            for stage in r.stages {
                let phase = String(stage.name.split(separator: ":").first ?? "")
                if let i = phases.firstIndex(where: { $0.0 == phase }) { phases[i].1 += stage.seconds } else { phases.append((phase, stage.seconds)) }
            }
            print(String(format: "  %.2f s: ", total) + phases.map { String(format: "%@ %.2f s", $0.0, $0.1) }.joined(separator: ", "))
        }
        print("  report: \(directory.path)/report.md\(r.rejectsFile.map { "; rejects: \($0)" } ?? "")\(r.importRunId.map { "; history: orderflow runs \($0)" } ?? "")")
    }

    static func makeRunId(_ pipeline: String) -> String {
        let t = Timestamp.now.description // 2026-11-26T12:34:56.789Z
        let compact = t.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "").replacingOccurrences(of: ".", with: "")
        let safe = pipeline.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
        return "\(compact)-\(String(safe))-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
    }
}
