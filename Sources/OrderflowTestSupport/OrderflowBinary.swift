import Feeds
import Foundation

/// The `orderflow` binary that tests run as users and schedulers do.
///
/// `ORDERFLOW_BIN` names it; otherwise it is the one built beside the test bundle that is
/// running (`swift build --build-tests` builds both). A missing binary fails the test, it never
/// skips it: a suite that silently skips its process tests proves nothing.
public enum OrderflowBinary {
    /// Its path, or an error saying how to build it.
    public static func path() throws -> String {
        if let named = ProcessInfo.processInfo.environment["ORDERFLOW_BIN"], !named.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: named) else { throw Missing(path: named) }
            return named
        }
        let bundle = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        let beside = bundle.deletingLastPathComponent().appendingPathComponent("orderflow").path
        guard FileManager.default.isExecutableFile(atPath: beside) else { throw Missing(path: beside) }
        return beside
    }

    /// Starts `orderflow ARGS` with its standard error kept in `errorLog` (for failure messages).
    public static func launch(_ arguments: [String], errorLog: String, standardInput: String? = nil) throws -> OrderflowProcess {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try path())
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        createEmptyFile(atPath: errorLog)
        p.standardError = FileHandle(forWritingAtPath: errorLog)
        if let standardInput { p.standardInput = FileHandle(forReadingAtPath: standardInput) }
        try p.run()
        return OrderflowProcess(process: p, errorLog: errorLog)
    }

    /// The binary is not where the tests look for it.
    public struct Missing: Error, CustomStringConvertible {
        public var path: String
        public var description: String { "no orderflow binary at \(path): run `swift build --build-tests` (or set ORDERFLOW_BIN)" }
    }
}

/// A running `orderflow` child.
public struct OrderflowProcess {
    public let process: Process
    /// Where its standard error goes.
    public let errorLog: String

    public var processIdentifier: Int32 { process.processIdentifier }
    public func waitUntilExit() { process.waitUntilExit() }
    public var terminationStatus: Int32 { process.terminationStatus }
    public var terminationReason: Process.TerminationReason { process.terminationReason }
    /// What it wrote to standard error so far.
    public var stderr: String { (try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? "" }
}
