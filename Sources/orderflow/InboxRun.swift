import Foundation
import Pipeline
import PostgresClient

/// `orderflow run PIPELINE --inbox DIR`: every ready file of the inbox, oldest name first, each
/// its own run, then moved to processed/ or failed/ (docs/operations.md).
struct InboxRun {
    let definition: PipelineDefinition
    let inbox: Inbox
    let options: RunOptions
    /// Each file's report goes to `<reportRoot>/<run id>`.
    let reportRoot: String
    let followUp: RunFollowUp
    let connect: () throws -> PostgresConnection

    /// Exit codes from most to least severe: a batch exits with the worst of its runs'.
    static let severity: [Int32] = [Exit.usage.rawValue, Exit.failed.rawValue, Exit.guardAborted.rawValue, 0]

    static func worse(_ a: Int32, _ b: Int32) -> Int32 {
        (severity.firstIndex(of: a) ?? 0) <= (severity.firstIndex(of: b) ?? 0) ? a : b
    }

    func run() -> Int32 {
        let lock: Inbox.Lock?
        do {
            lock = try inbox.lock()
        } catch {
            note("error: \(error)")
            return Exit.usage.rawValue
        }
        guard let lock else {
            print("inbox \(inbox.directory): another orderflow is taking its files; nothing to do")
            return 0
        }
        var worst: Int32 = 0
        var tried = Set<String>()
        var ran = 0
        // Files that arrive during the batch are taken too: list again until nothing new is ready.
        batch: while true {
            let ready: [String]
            do {
                ready = try inbox.readyFiles().filter { !tried.contains($0) }
            } catch {
                note("error: \(error)")
                return Self.worse(worst, Exit.usage.rawValue)
            }
            if ready.isEmpty { break }
            for name in ready {
                tried.insert(name)
                ran += 1
                let runId = RunCommand.makeRunId(definition.name)
                let ended = RunCommand.execute(definition: definition, inputs: ["\(inbox.directory)/\(name)"], options: options,
                                               reportDir: "\(reportRoot)/\(runId)", runId: runId, followUp: followUp, connect: connect)
                worst = Self.worse(worst, ended.code)
                guard let report = ended.report else { break batch }
                let line = "inbox: \(name): \(report.outcome.rawValue)\(report.importRunId.map { " (run \($0))" } ?? "")"
                switch disposition(report) {
                case .move(let destination):
                    do {
                        let moved = try inbox.move(name, to: destination)
                        if destination == .failed, let reportDirectory = report.reportDirectory {
                            // Beside the failed file, a link to the report that says why.
                            let absolute = URL(fileURLWithPath: reportDirectory).standardizedFileURL.path
                            _ = symlink(absolute, moved + ".report")
                        }
                        print("\(line) → \(moved)")
                    } catch {
                        note("error: \(error)")
                        print("\(line); left in the inbox: \(error)")
                        worst = Self.worse(worst, Exit.failed.rawValue)
                        break batch
                    }
                case .leave(let why):
                    print("\(line); left in the inbox (\(why))")
                case .stop(let why):
                    print("\(line); left in the inbox, batch stopped (\(why))")
                    break batch
                }
            }
        }
        if ran == 0 { print("inbox \(inbox.directory): no ready files\(inbox.settings.pattern == "*" ? "" : " matching \(inbox.settings.pattern)")") }
        withExtendedLifetime(lock) {}
        return worst
    }

    enum Disposition {
        case move(Inbox.Destination)
        case leave(String)
        case stop(String)
    }

    /// Where a file goes once its run ended. A run that never reached the database, or that
    /// waited out another run's lock, says nothing about the file: it stays for the next batch.
    func disposition(_ report: RunReport) -> Disposition {
        switch report.outcome {
        case .applied, .skipped: return .move(.processed)
        case .dryRun: return .leave("a dry run applies nothing")
        case .cancelled: return .stop("cancelled")
        case .aborted: return .move(.failed)
        case .failed:
            if report.importRunId == nil || report.historyError != nil { return .stop("the database could not be reached") }
            if report.errorCode == "lockTimeout" { return .stop("another bulk run held the lock") }
            return .move(.failed)
        }
    }
}
