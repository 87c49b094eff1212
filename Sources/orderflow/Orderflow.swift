import ArgumentParser
import Foundation
import Monitoring

/// The orderflow command line: imports, exports, the API and the embedded database.
@main
struct Orderflow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orderflow",
        abstract: "Order management on PostgreSQL: bulk feeds in, reports out, a REST API.",
        discussion: """
            Database: --database URL, else DATABASE_URL, else libpq's PG* variables, else the
            embedded cluster under ./.orderflow (started on demand; see `orderflow db`).
            Exit codes: 0 done, 1 failed (nothing applied), 2 usage or configuration error,
            3 aborted by a guard (nothing applied).
            """,
        subcommands: [DemoCommand.self, RunCommand.self, ExportCommand.self, ExportsCommand.self, RunsCommand.self, MigrateCommand.self, DBCommand.self, GenerateCommand.self, BenchCommand.self, ServeCommand.self]
    )

    /// Like the default, but usage and validation errors exit with 2 (the exit codes in README.md)
    /// instead of argument-parser's 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                note(fullMessage(for: error))
                exit(withError: Exit.usage)
            }
            exit(withError: error)
        }
    }
}

/// The exit codes README.md documents, in one place.
enum Exit {
    static let failed = ExitCode(1)
    static let usage = ExitCode(2)
    static let guardAborted = ExitCode(3)
}

/// Prints a line to standard error (messages for the user, never data): text, or with
/// `--log-format json` one JSON object with the current run's fields.
func note(_ message: String, fields: [String: String] = [:]) {
    guard Console.format.withLock({ $0 }) == .json else {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        return
    }
    let level = message.hasPrefix("error") ? "error" : message.hasPrefix("warning") || message.hasPrefix("aborted") ? "warning" : "info"
    JSONLogHandler.write(level: level, message: message, label: "orderflow",
                         fields: Console.fields.withLock { $0 }.merging(fields) { $1 })
}

extension ParsableCommand {
    /// Runs `body`, turning our errors into a message on stderr and exit code 1.
    func failing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ExitCode {
            throw error
        } catch let error as CleanExit {
            throw error
        } catch let error as ValidationError {
            throw error
        } catch {
            note("error: \(error)")
            throw Exit.failed
        }
    }

    /// Runs `body`, which reads the command's configuration: any error is a message on stderr
    /// and exit code 2, before anything is touched.
    func configuring<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            note("error: \(error)")
            throw Exit.usage
        }
    }
}
