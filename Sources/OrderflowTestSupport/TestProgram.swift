import Foundation
import RunSupport

/// What a finished child process left: exit status, standard output and standard error.
public struct ProgramOutput: Sendable {
    public var status: Int32
    public var output: [UInt8]
    public var error: String
    /// `true` when the child was killed by a signal rather than exiting.
    public var signalled: Bool
}

/// Runs the programs tests check our files with (gzip, zcat, chromium, orderflow itself).
public enum TestProgram {
    /// Runs `path` to completion; `input` is written to its standard input on a thread of its
    /// own (a child may fill its output pipe before it has read all its input).
    @discardableResult
    public static func run(_ path: String, _ arguments: [String], input: [UInt8]? = nil,
                           environment: [String: String]? = nil) throws -> ProgramOutput {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        if let environment { p.environment = environment }
        let out = Pipe(), err = Pipe(), inPipe = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        try p.run()
        if let input {
            let handle = inPipe.fileHandleForWriting
            let data = Data(input)
            Thread.detachNewThread {
                handle.write(data)
                try? handle.close()
            }
        }
        // Standard error is drained on another thread so a chatty child cannot block on it.
        let errHandle = err.fileHandleForReading
        let errorText = WorkerThread(name: "orderflow.test-stderr") { errHandle.readDataToEndOfFile() }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return ProgramOutput(status: p.terminationStatus, output: Array(data), error: String(decoding: (try? errorText.wait().get()) ?? Data(), as: UTF8.self),
                             signalled: p.terminationReason == .uncaughtSignal)
    }

    /// The system's gzip tool on `input` (`-c` and friends in `arguments`); throws when it fails.
    public static func gzip(_ arguments: [String], input: [UInt8]? = nil) throws -> [UInt8] {
        let r = try run("/usr/bin/gzip", arguments, input: input)
        guard r.status == 0 else { throw ProgramFailed(program: "gzip \(arguments.joined(separator: " "))", result: r) }
        return r.output
    }
}

/// A program the tests depend on failed.
public struct ProgramFailed: Error, CustomStringConvertible {
    public var program: String
    public var result: ProgramOutput
    public var description: String { "\(program) exited with \(result.status): \(result.error)" }
}
