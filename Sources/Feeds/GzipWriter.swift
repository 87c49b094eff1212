@preconcurrency import Glibc
import CZlib

/// Compresses bytes into a single gzip member and hands the output to a sink in chunks.
///
/// Call `finish()` to write the trailer; a writer dropped unfinished leaves a truncated member,
/// which `GzipDecoder` reports as `truncated` rather than accepting silently.
public final class GzipWriter {
    /// Receives compressed bytes; the buffer is only valid during the call.
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    private let sink: Sink
    private let name: String
    // zlib keeps pointers into its own z_stream, so it must live at a fixed address.
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutablePointer<UInt8>
    private let outputCapacity: Int
    private var finished = false

    /// Bytes passed to `write` so far.
    public private(set) var uncompressedBytes: Int64 = 0
    /// Bytes handed to the sink so far.
    public private(set) var compressedBytes: Int64 = 0

    /// Creates a writer; `level` is zlib's 0 (store) … 9 (smallest), default 6.
    public init(level: Int32 = 6, name: String = "<gzip>", outputChunkSize: Int = 64 * 1024, sink: @escaping Sink) throws(FeedError) {
        precondition((0...9).contains(level), "gzip level must be 0...9")
        self.sink = sink
        self.name = name
        self.outputCapacity = max(outputChunkSize, 64)
        self.output = .allocate(capacity: outputCapacity)
        self.stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 15 + 16: maximum window, and a gzip header/trailer instead of zlib's.
        let status = orderflow_deflateInit2(stream, level, 15 + 16)
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            output.deallocate()
            throw FeedError(.zlibFailure, source: name, reason: "deflateInit2 failed (\(status))")
        }
    }

    /// Writes to an open file descriptor (not closed by the writer), retrying short writes.
    public convenience init(level: Int32 = 6, fileDescriptor: Int32, name: String) throws(FeedError) {
        try self.init(level: level, name: name) { bytes throws(FeedError) in
            try writeAll(fileDescriptor, bytes, name: name)
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Compresses `bytes`; output reaches the sink whenever a chunk fills.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "write after finish")
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var offset = 0
        // avail_in is 32-bit; feed large buffers in slices.
        while offset < bytes.count {
            let count = min(bytes.count - offset, Int(UInt32.max >> 1))
            stream.pointee.next_in = UnsafeMutablePointer(mutating: (base + offset).assumingMemoryBound(to: UInt8.self))
            stream.pointee.avail_in = UInt32(count)
            try run(flush: Z_NO_FLUSH)
            offset += count
        }
        uncompressedBytes += Int64(bytes.count)
    }

    /// Compresses `bytes`.
    public func write(_ bytes: some Sequence<UInt8>) throws {
        let done: Void? = try bytes.withContiguousStorageIfAvailable { buffer in
            try write(UnsafeRawBufferPointer(buffer))
        }
        if done == nil {
            let copy = Array(bytes)
            try copy.withUnsafeBytes { try write($0) }
        }
    }

    /// Compresses the UTF-8 bytes of `string`.
    public func write(_ string: String) throws {
        var string = string
        try string.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Writes the remaining output and the gzip trailer (CRC32, length). Idempotent.
    public func finish() throws {
        guard !finished else { return }
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        try run(flush: Z_FINISH)
        finished = true
    }

    private func run(flush: Int32) throws {
        while true {
            stream.pointee.next_out = output
            stream.pointee.avail_out = UInt32(outputCapacity)
            let status = deflate(stream, flush)
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                throw FeedError(.zlibFailure, source: name, reason: "deflate failed: \(zlibMessage(stream, status))")
            }
            let produced = outputCapacity - Int(stream.pointee.avail_out)
            if produced > 0 {
                try sink(UnsafeRawBufferPointer(start: output, count: produced))
                compressedBytes += Int64(produced)
            }
            if flush == Z_FINISH {
                if status == Z_STREAM_END { return }
            } else if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 {
                return
            }
        }
    }

    /// Gzips `bytes` in memory; for tests and small payloads.
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        var result: [UInt8] = []
        let writer = try GzipWriter(level: level) { chunk in result.append(contentsOf: chunk) }
        try writer.write(bytes)
        try writer.finish()
        return result
    }
}

