import CZlib

/// Detects gzip by its magic bytes (1f 8b), never by file name, and inflates it; any other input
/// passes through unchanged.
///
/// Handles multi-member files (`cat a.gz b.gz`), verifies each member's CRC32 and length through
/// zlib, and rejects truncation, trailing garbage and output beyond `DecompressionLimits`.
public final class GzipDecoder<Source: ByteSource>: ByteSource {
    private enum Mode {
        case undetected
        case passthrough
        case gzip
    }

    /// The wrapped source's name, so errors point at the file the user gave.
    public var name: String { source.name }
    /// `nil` until the first read, then whether the input is gzip.
    public var isCompressed: Bool? {
        switch mode {
        case .undetected: nil
        case .passthrough: false
        case .gzip: true
        }
    }
    /// Input bytes consumed so far (compressed bytes for gzip).
    public private(set) var inputBytes: Int64 = 0
    /// Bytes handed to the caller so far.
    public private(set) var outputBytes: Int64 = 0
    /// Complete gzip members decoded so far.
    public private(set) var members = 0

    private var source: Source
    private let limits: DecompressionLimits
    private var mode = Mode.undetected
    private let inputCapacity: Int
    private let input: UnsafeMutablePointer<UInt8>
    // Bytes of `input` not yet given to zlib (or to the caller, when passing through).
    private var pendingStart = 0
    private var pendingEnd = 0
    private var sourceAtEnd = false
    private var memberEnded = false
    // zlib keeps pointers into its own z_stream, so it must live at a fixed address.
    private var stream: UnsafeMutablePointer<z_stream>?

    /// Wraps `source`; `inputChunkSize` is how much compressed input is read at a time.
    public init(source: Source, limits: DecompressionLimits = DecompressionLimits(), inputChunkSize: Int = 128 * 1024) {
        precondition(inputChunkSize >= 2, "inputChunkSize must hold the gzip magic")
        self.source = source
        self.limits = limits
        self.inputCapacity = inputChunkSize
        self.input = .allocate(capacity: inputChunkSize)
    }

    deinit {
        if let stream {
            inflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(FeedError) -> Int {
        guard buffer.count > 0 else { return 0 }
        switch mode {
        case .undetected:
            try detect()
            return try read(into: buffer)
        case .passthrough:
            return try passThrough(into: buffer)
        case .gzip:
            return try inflate(into: buffer)
        }
    }

    private func detect() throws(FeedError) {
        try fillPending(atLeast: 2)
        let available = pendingEnd - pendingStart
        if available >= 2 && input[pendingStart] == 0x1f && input[pendingStart + 1] == 0x8b {
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // 15 + 32: maximum window, and let zlib parse the gzip header and check the trailer.
            let status = orderflow_inflateInit2(stream, 15 + 32)
            guard status == Z_OK else {
                stream.deinitialize(count: 1)
                stream.deallocate()
                throw FeedError(.zlibFailure, source: name, reason: "inflateInit2 failed (\(status))")
            }
            self.stream = stream
            mode = .gzip
        } else {
            mode = .passthrough
        }
    }

    /// Reads until at least `count` bytes are pending or the source ends, compacting first.
    private func fillPending(atLeast count: Int) throws(FeedError) {
        if pendingStart > 0 {
            let pending = pendingEnd - pendingStart
            if pending > 0 {
                input.update(from: input + pendingStart, count: pending)
            }
            pendingStart = 0
            pendingEnd = pending
        }
        while pendingEnd < count && !sourceAtEnd {
            let space = UnsafeMutableRawBufferPointer(start: input + pendingEnd, count: inputCapacity - pendingEnd)
            let read = try source.read(into: space)
            if read == 0 {
                sourceAtEnd = true
            } else {
                pendingEnd += read
                inputBytes += Int64(read)
            }
        }
    }

    private func passThrough(into buffer: UnsafeMutableRawBufferPointer) throws(FeedError) -> Int {
        let pending = pendingEnd - pendingStart
        if pending > 0 {
            let count = min(pending, buffer.count)
            buffer.baseAddress!.copyMemory(from: input + pendingStart, byteCount: count)
            pendingStart += count
            outputBytes += Int64(count)
            return count
        }
        if sourceAtEnd { return 0 }
        let count = try source.read(into: buffer)
        if count == 0 { sourceAtEnd = true }
        inputBytes += Int64(count)
        outputBytes += Int64(count)
        return count
    }

    private var consumedOffset: Int64 {
        inputBytes - Int64(pendingEnd - pendingStart)
    }

    private func inflate(into buffer: UnsafeMutableRawBufferPointer) throws(FeedError) -> Int {
        guard let stream else { return 0 }
        let output = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        while true {
            if memberEnded {
                if pendingEnd - pendingStart < 2 {
                    try fillPending(atLeast: 2)
                }
                let pending = pendingEnd - pendingStart
                if pending == 0 { return 0 }
                guard pending >= 2, input[pendingStart] == 0x1f, input[pendingStart + 1] == 0x8b else {
                    throw FeedError(
                        .trailingGarbage, source: name, byteOffset: consumedOffset,
                        reason: "\(pending >= 2 ? "bytes" : "a byte") after the last gzip member that do not start another member"
                    )
                }
                // windowBits stay as set by inflateInit2: each member is parsed as gzip again.
                guard CZlib.inflateReset(stream) == Z_OK else {
                    throw FeedError(.zlibFailure, source: name, byteOffset: consumedOffset, reason: "inflateReset failed")
                }
                memberEnded = false
            }
            if pendingStart == pendingEnd && !sourceAtEnd {
                try fillPending(atLeast: 1)
            }
            let availableIn = pendingEnd - pendingStart
            stream.pointee.next_in = input + pendingStart
            stream.pointee.avail_in = UInt32(availableIn)
            stream.pointee.next_out = output
            stream.pointee.avail_out = UInt32(clamping: buffer.count)
            let requested = Int(stream.pointee.avail_out)
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            pendingStart += availableIn - Int(stream.pointee.avail_in)
            let produced = requested - Int(stream.pointee.avail_out)
            outputBytes += Int64(produced)

            switch status {
            case Z_OK:
                break
            case Z_STREAM_END:
                members += 1
                memberEnded = true
            case Z_BUF_ERROR:
                // No progress was possible: zlib needs input we do not have.
                if pendingStart == pendingEnd && sourceAtEnd {
                    throw truncated()
                }
            case Z_DATA_ERROR, Z_NEED_DICT:
                throw FeedError(.corrupt, source: name, byteOffset: consumedOffset, reason: "corrupt gzip data: \(zlibMessage(stream, status))")
            default:
                throw FeedError(.zlibFailure, source: name, byteOffset: consumedOffset, reason: "inflate failed: \(zlibMessage(stream, status))")
            }
            try checkLimits()
            if produced > 0 { return produced }
            if status == Z_OK && pendingStart == pendingEnd && sourceAtEnd {
                throw truncated()
            }
        }
    }

    private func truncated() -> FeedError {
        FeedError(.truncated, source: name, byteOffset: consumedOffset, reason: "gzip data ends before the end of member \(members + 1)")
    }

    private func checkLimits() throws(FeedError) {
        if outputBytes > limits.maxOutputBytes {
            throw FeedError(
                .decompressionLimitExceeded, source: name, byteOffset: consumedOffset,
                reason: "decompressed output exceeds \(limits.maxOutputBytes) bytes"
            )
        }
        let consumed = max(consumedOffset, 1)
        if outputBytes >= limits.ratioCheckThreshold && outputBytes / consumed > limits.maxRatio {
            throw FeedError(
                .decompressionLimitExceeded, source: name, byteOffset: consumedOffset,
                reason: "decompression ratio exceeds \(limits.maxRatio):1 (\(outputBytes) bytes from \(consumed))"
            )
        }
    }
}

func zlibMessage(_ stream: UnsafeMutablePointer<z_stream>, _ status: Int32) -> String {
    if let message = stream.pointee.msg {
        return String(cString: message)
    }
    return "zlib status \(status)"
}

extension GzipDecoder where Source == FileByteSource {
    /// Opens `path` (`-` for standard input) and decodes it if it is gzip.
    public convenience init(path: String, limits: DecompressionLimits = DecompressionLimits()) throws(FeedError) {
        self.init(source: try FileByteSource(path: path), limits: limits)
    }
}
