import Feeds
import Foundation
import PostgresClient

/// Bytes held on disk for a later COPY, so memory stays flat whatever the feed's size.
///
/// The file is unlinked as soon as it is opened: it vanishes with the process, however it ends.
final class SpoolFile: @unchecked Sendable {
    private let descriptor: Int32
    private let name: String
    private(set) var bytes: Int64 = 0

    init(purpose: String) throws {
        let path = NSTemporaryDirectory() + "/orderflow-\(purpose)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        descriptor = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw RunError.configuration("cannot create \(path) to hold \(purpose) rows: \(String(cString: strerror(errno)))")
        }
        unlink(path)
        name = "\(purpose) spool file"
    }

    deinit { close(descriptor) }

    /// Appends a chunk (from the reader thread).
    func write(_ chunk: [UInt8]) throws {
        try chunk.withUnsafeBytes { try writeAll(descriptor, $0, name: name) }
        bytes += Int64(chunk.count)
    }

    /// Streams everything written so far into a COPY, from the start.
    func copy(into writer: inout CopyInWriter) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: off_t = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, offset) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw RunError.configuration("cannot read the \(name): \(String(cString: strerror(errno)))") }
            if n == 0 { return }
            try buffer.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += off_t(n)
        }
    }
}
