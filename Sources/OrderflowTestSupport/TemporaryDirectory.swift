import Foundation

/// A scratch directory for one test, removed with everything in it when the last fixture that
/// holds it goes away.
public final class TemporaryDirectory: Sendable {
    /// Where it is.
    public let url: URL

    /// Creates `<tmp>/<prefix>-<pid>-<random>`.
    public init(prefix: String) throws {
        url = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the directory.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
