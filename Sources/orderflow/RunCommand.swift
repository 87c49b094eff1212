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
    @Argument(help: "The pipeline definition (pipelines/*.yaml).") var pipeline: String
    @Argument(help: "Input files (CSV or NDJSON, gzip'd or not); - reads standard input.") var inputs: [String]
    @Flag(help: "Do everything but commit; the report says what would change.") var dryRun = false
    @Flag(help: "Diff an input again even if it was already applied (a no-op when nothing changed).") var force = false
    @Option(help: "Report directory (default: reports/<run id>).") var reportDir: String?
    @Option(help: "Seconds to wait for another bulk run's lock.") var lockTimeout: Double = 60

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one input file (or - for standard input)") }
        for input in inputs where input != "-" && !FileManager.default.isReadableFile(atPath: input) {
            throw ValidationError("cannot read input \(input)")
        }
    }

    func run() throws {
        var options = RunOptions()
        options.dryRun = dryRun
        options.force = force
        options.lockTimeoutSeconds = lockTimeout
        let code = Self.execute(pipeline: pipeline, inputs: inputs, options: options, reportDir: reportDir) { try db.connect() }
        if code != 0 { throw ExitCode(code) }
    }

    /// Runs one pipeline end to end, prints its summary, and returns its exit code (README.md).
    /// Shared by `run` and `demo`.
    static func execute(pipeline: String, inputs: [String], options: RunOptions, reportDir: String?,
                        connect: () throws -> PostgresConnection) -> Int32 {
        let definition: PipelineDefinition
        do {
            definition = try PipelineDefinition.load(path: pipeline)
        } catch {
            note("error: \(error)")
            return Exit.usage.rawValue
        }
        guard definition.kind != .export else {
            note("error: \(pipeline): kind export pipelines are run with `orderflow export`, not `run`")
            return Exit.usage.rawValue
        }
        let runId = makeRunId(definition.name)
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
        let run = PipelineRun(definition: definition, inputs: inputs, options: options)
        var target = "(not connected)"
        func failed(_ message: String, outcome: RunReport.Outcome = .failed) {
            var report = RunReport(runId: runId, pipeline: definition.name, pipelineFile: definition.file, kind: definition.kind.rawValue,
                                   mode: definition.mode.rawValue, source: definition.source, dryRun: options.dryRun, outcome: outcome,
                                   database: target, startedAt: Timestamp.now.description)
            report.message = outcome == .cancelled ? message : message + " (nothing was applied)"
            report.finishedAt = Timestamp.now.description
            // Best effort: the failure may be the report directory itself.
            try? ReportWriter(directory: directory).write(report)
        }
        do {
            let conn = try connect()
            target = conn.target
            let report = try run.run(on: conn, runId: runId) { report, rejects in
                try ReportWriter(directory: directory).write(report, rejects: rejects, definition: definition, inputs: inputs)
            }
            printSummary(report, directory: directory)
            return 0
        } catch let error as RunError {
            let message = error.message
            switch error.code {
            case .guardExceeded:
                note("aborted: \(message)")
                note("report: \(directory.path)/report.md")
                return Exit.guardAborted.rawValue
            case .cancelled:
                failed(message, outcome: .cancelled)
                note("orderflow: \(message); report: \(directory.path)/report.md")
                return Exit.failed.rawValue
            default:
                failed(message)
                let reconcile = error.code == .reconciliation ? "counts do not reconcile, nothing applied: " : ""
                note("error: \(reconcile)\(message)")
                return error.code == .configuration ? Exit.usage.rawValue : Exit.failed.rawValue
            }
        } catch {
            failed("\(error)")
            note("error: \(error)")
            note("nothing was applied; report: \(directory.path)/report.md")
            return Exit.failed.rawValue
        }
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
        print("  report: \(directory.path)/report.md\(r.rejectsFile.map { "; rejects: \($0)" } ?? "")")
    }

    static func makeRunId(_ pipeline: String) -> String {
        let t = Timestamp.now.description // 2026-11-26T12:34:56.789Z
        let compact = t.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "").replacingOccurrences(of: ".", with: "")
        let safe = pipeline.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
        return "\(compact)-\(String(safe))-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
    }
}
