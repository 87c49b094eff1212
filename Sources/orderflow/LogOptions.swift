import ArgumentParser
import Logging
import Monitoring
import Synchronization

/// `--log-format`: text for a person at a terminal, json (one object per line) for log shippers.
struct LogOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Option(help: "Log format for messages on standard error: text or json (one object per line).")
    var logFormat: Format = .text

    /// Makes the choice process-wide: `note` and every swift-log logger follow it.
    func bootstrap() {
        Console.format.withLock { $0 = logFormat }
        if logFormat == .json {
            LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        }
    }
}

/// How the command line's messages are written, and the run they belong to.
enum Console {
    static let format = Mutex(LogOptions.Format.text)
    /// Fields every JSON line carries while they are set (the run id during a run).
    static let fields = Mutex([String: String]())
}
