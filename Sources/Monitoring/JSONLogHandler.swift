import Feeds
import Foundation
import Logging

/// A swift-log handler that writes one JSON object per line to standard error, for log shippers
/// (docs/metrics.md): `time`, `level`, `message`, `label`, then the metadata as fields.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata.mapValues { "\($0)" }
        for (key, value) in event.metadata ?? [:] { fields[key] = "\(value)" }
        Self.write(level: event.level.rawValue, message: "\(event.message)", label: label, fields: fields)
    }

    /// Writes one line; each line is one `write(2)`, so lines of several threads never interleave.
    public static func write(level: String, message: String, label: String, fields: [String: String]) {
        var line = "{\"time\":\(jsonStringLiteral(timestamp())),\"level\":\(jsonStringLiteral(level)),\"message\":\(jsonStringLiteral(message)),\"label\":\(jsonStringLiteral(label))"
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) where !["time", "level", "message", "label"].contains(key) {
            line += ",\(jsonStringLiteral(key)):\(jsonStringLiteral(value))"
        }
        line += "}\n"
        line.utf8CString.withUnsafeBufferPointer { buffer in
            _ = Glibc.write(2, buffer.baseAddress, buffer.count - 1)
        }
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(now.tv_nsec / 1_000_000))
    }
}
