import Crypto
import Feeds
import RunSupport

/// Compresses (optionally), hashes and writes buffers on its own thread: PostgreSQL produces on
/// one core while this thread compresses on the other.
enum ExportWriter {
    struct Written: Sendable {
        var bytes: Int64
        var sha256: String
    }

    /// Starts draining `channel` into `destination`; the consumed buffers go back for reuse.
    /// On a failure the channel is cancelled with the error, so a producer blocked in `send` stops.
    static func start(channel: BoundedChannel<[UInt8]>, destination: ExportDestination, gzip: Bool) -> WorkerThread<Written> {
        let fd = destination.fd
        let copyFD = destination.copyFD
        let name = destination.path ?? "standard output"
        return WorkerThread(name: "orderflow.export-writer") {
            var hasher = SHA256()
            var bytes: Int64 = 0
            func sink(_ chunk: UnsafeRawBufferPointer) throws {
                hasher.update(bufferPointer: chunk)
                bytes += Int64(chunk.count)
                try writeAll(fd, chunk, name: name)
                if let copyFD { try writeAll(copyFD, chunk, name: "the ledger's copy of standard output") }
            }
            do {
                let compressor = gzip ? try GzipMemberCompressor(level: 6) : nil
                while let buffer = try channel.receive() {
                    try buffer.withUnsafeBytes { raw in
                        if let compressor { try sink(try compressor.compress(raw)) } else { try sink(raw) }
                    }
                    channel.giveBack(buffer)
                }
                return Written(bytes: bytes, sha256: ContentHash.hex(hasher.finalize()))
            } catch {
                channel.cancel(error: error)
                throw error
            }
        }
    }
}
