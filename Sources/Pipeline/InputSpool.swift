import Feeds
import Foundation
import SystemPackage

/// Standard input copied to a temporary file, so it can be hashed and read twice.
enum InputSpool {
    static func spoolStandardInput() throws -> String {
        let path = NSTemporaryDirectory() + "/orderflow-stdin-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw RunError.configuration("cannot create \(path) to hold standard input") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            try buffer.withUnsafeBytes { try writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<n]), name: path) }
        }
        return path
    }
}
