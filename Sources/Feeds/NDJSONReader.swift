@preconcurrency import Glibc

/// Splits a `ByteSource` into NDJSON lines (LF or CRLF), skipping blank and whitespace-only
/// lines and a leading UTF-8 byte order mark, with memory bounded by `maxLineSize`.
public final class NDJSONReader<Source: ByteSource> {
    /// The source's name, used in errors.
    public var name: String { source.name }
    /// Longest accepted line in bytes; longer lines fail with `recordTooLarge`.
    public let maxLineSize: Int

    private var source: Source
    private let readChunkSize: Int
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    // Where the search for LF resumes, so a long line is not rescanned after each read.
    private var searchFrom = 0
    private var discarded: Int64 = 0
    private var line = 1
    private var atEnd = false
    private var checkedByteOrderMark = false
    private var failure: FeedError?

    /// Reads lines from `source`.
    public init(source: Source, maxLineSize: Int = 4 << 20, readChunkSize: Int = 128 * 1024) {
        precondition(maxLineSize > 0 && readChunkSize > 0, "sizes must be positive")
        self.source = source
        self.maxLineSize = maxLineSize
        self.readChunkSize = readChunkSize
        self.capacity = max(readChunkSize, 16)
        self.buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
    }

    /// The next non-blank line, or `nil` at the end of the input.
    public func next() throws(FeedError) -> NDJSONLine? {
        if let failure { throw failure }
        do throws(FeedError) {
            return try nextLine()
        } catch {
            failure = error
            throw error
        }
    }

    private func nextLine() throws(FeedError) -> NDJSONLine? {
        if !checkedByteOrderMark {
            while end < 3 && !atEnd { try refill() }
            if end >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF {
                start = 3
                searchFrom = 3
            }
            checkedByteOrderMark = true
        }
        while true {
            let lineFeed = searchFrom < end ? memchr(buffer + searchFrom, 0x0A, end - searchFrom) : nil
            let lineEnd: Int
            if let lineFeed {
                lineEnd = buffer.distance(to: lineFeed.assumingMemoryBound(to: UInt8.self))
            } else if atEnd {
                if start == end { return nil }
                lineEnd = end
            } else {
                searchFrom = end
                if end - start > maxLineSize + 1 {
                    throw tooLarge()
                }
                try refill()
                continue
            }
            let lineStart = start
            let lineNumber = line
            start = lineEnd < end ? lineEnd + 1 : end
            searchFrom = start
            line += 1
            var contentEnd = lineEnd
            if contentEnd > lineStart && buffer[contentEnd - 1] == 0x0D {
                contentEnd -= 1
            }
            if contentEnd - lineStart > maxLineSize {
                line = lineNumber
                throw tooLarge()
            }
            var blank = true
            for index in lineStart..<contentEnd {
                let byte = buffer[index]
                if byte != 0x20 && byte != 0x09 && byte != 0x0D {
                    blank = false
                    break
                }
            }
            if blank { continue }
            return NDJSONLine(
                source: name, line: lineNumber, byteOffset: discarded + Int64(lineStart),
                raw: Array(UnsafeBufferPointer(start: buffer + lineStart, count: contentEnd - lineStart))
            )
        }
    }

    private func tooLarge() -> FeedError {
        FeedError(
            .recordTooLarge, source: name, line: line, byteOffset: discarded + Int64(start),
            reason: "line is longer than \(maxLineSize) bytes"
        )
    }

    private func refill() throws(FeedError) {
        let keep = start
        searchFrom -= keep
        start = 0
        let space = SlidingBuffer.prepare(&buffer, capacity: &capacity, end: &end, discarded: &discarded,
                                          dropping: keep, readChunkSize: readChunkSize)
        let count = try source.read(into: space)
        if count == 0 {
            atEnd = true
        } else {
            end += count
        }
    }
}
