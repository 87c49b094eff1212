import Crypto
import Feeds
import Foundation
import OrderStore
import PostgresClient
import RunSupport

/// `orderflow export --rerun ID`: the bytes the ledger kept of an export, written again the way
/// an export writes (temp file, fsync, rename) and checked against its recorded SHA-256 and size.
/// The rows may have changed since; the file does not.
public struct ExportRerun {
    public let id: Int64

    public init(id: Int64) {
        self.id = id
    }

    /// What was written.
    public struct Written: Sendable {
        public var path: String
        public var bytes: Int64
        public var sha256: String
    }

    /// Writes the file to `output` (a path, `-` for standard output, `nil` for the path it had).
    public func write(on conn: PostgresConnection, to output: String?) throws -> Written {
        try Migrator().requireCurrent(conn)
        let ledger = ExportLedger(conn: conn)
        guard let entry = try ledger.entry(id) else {
            throw ExportError(.notInLedger, "the export ledger has no export \(id) (orderflow exports lists them)")
        }
        guard entry.status == "exported", let sha = entry.sha256, let size = entry.bytes else {
            throw ExportError(.notInLedger, "export \(id) ended \(entry.status)\(entry.message.map { ": \($0)" } ?? ""); it has no file to write again")
        }
        guard entry.storedBytes == size else {
            throw ExportError(.notInLedger, "the ledger keeps \(entry.storedBytes) of export \(id)'s \(size) bytes; it cannot be written again")
        }
        let target = output ?? entry.outputPath ?? "-"
        let destination = try ExportDestination(path: target == "-" ? nil : target)
        defer { destination.abort() }
        var hasher = SHA256()
        var written: Int64 = 0
        // One snapshot, so the parts read belong together.
        try conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        defer { conn.rollbackQuietly() }
        try ledger.readFile(id: id) { chunk in
            try chunk.withUnsafeBytes { raw in
                hasher.update(bufferPointer: raw)
                try writeAll(destination.fd, raw, name: target)
            }
            written += Int64(chunk.count)
        }
        let digest = ContentHash.hex(hasher.finalize())
        guard digest == sha, written == size else {
            throw ExportError(.notInLedger, "export \(id)'s stored bytes do not match its record (sha256 \(digest), \(written) bytes; "
                              + "recorded \(sha), \(size) bytes); nothing was written")
        }
        try destination.commit()
        return Written(path: target, bytes: written, sha256: digest)
    }
}
