import Feeds
import Foundation
import OrderflowTestSupport
import Testing

@Suite("GzipDecoder")
struct GzipDecoderTests {
    static let text = sampleText(size: 40_000)

    @Test("a file made by the gzip tool decodes", arguments: chunkSizes)
    func gzipToolOutput(chunkSize: Int) throws {
        let compressed = try TestProgram.gzip(["-c", "-n", "-9"], input: Self.text)
        #expect(compressed.starts(with: [0x1f, 0x8b]))
        #expect(try gunzip(compressed, chunkSize: chunkSize) == Self.text)
    }

    @Test("a gzip file with a file name in its header (FNAME) decodes")
    func gzipHeaderWithName() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("orders.csv").path
            try Data(Self.text).write(to: URL(fileURLWithPath: path))
            try TestProgram.gzip(["-k", path])
            let decoder = GzipDecoder(source: try FileByteSource(path: path + ".gz"))
            #expect(try decoder.readAll() == Self.text)
            #expect(decoder.isCompressed == true)
            #expect(decoder.members == 1)
            #expect(decoder.outputBytes == Int64(Self.text.count))
        }
    }

    @Test("multi-member gzip (cat a.gz b.gz c.gz) decodes to the concatenation", arguments: chunkSizes)
    func multiMember(chunkSize: Int) throws {
        let first = Array("first member\n".utf8)
        let second = sampleText(size: 5000, seed: 7)
        let third = Array("third\n".utf8)
        var parts = [try GzipWriter.compress(first, level: 1)]
        parts.append(try TestProgram.gzip(["-c"], input: second))
        parts.append(try GzipWriter.compress(third, level: 9))
        let decoder = GzipDecoder(source: BufferByteSource(bytes: parts.flatMap { $0 }, chunkSize: chunkSize), inputChunkSize: max(2, chunkSize))
        var output: [UInt8] = []
        while try decoder.read(into: &output, maxCount: chunkSize) > 0 {}
        #expect(output == first + second + third)
        #expect(decoder.members == 3)
    }

    @Test("empty gzip members decode to nothing, alone or between others", arguments: chunkSizes)
    func emptyMembers(chunkSize: Int) throws {
        let empty = try TestProgram.gzip(["-c"], input: [])
        #expect(try gunzip(empty, chunkSize: chunkSize) == [])
        let payload = Array("payload".utf8)
        let mixed = empty + (try GzipWriter.compress(payload)) + empty + (try GzipWriter.compress([]))
        #expect(try gunzip(mixed, chunkSize: chunkSize) == payload)
    }

    @Test("a truncated file is an error, wherever it is cut", arguments: chunkSizes)
    func truncated(chunkSize: Int) throws {
        let compressed = try GzipWriter.compress(Self.text)
        // Cuts inside the header, the deflate data, the CRC32 and the ISIZE trailer.
        for cut in [2, 5, 10, 11, compressed.count / 2, compressed.count - 8, compressed.count - 5, compressed.count - 1] {
            let error = expectFeedError(.truncated) { () throws(FeedError) in
                try gunzip(Array(compressed[..<cut]), chunkSize: chunkSize)
            }
            #expect(error?.source == "test.gz")
        }
    }

    @Test("a truncated second member is an error", arguments: chunkSizes)
    func truncatedSecondMember(chunkSize: Int) throws {
        let member = try GzipWriter.compress(Array("hello\n".utf8))
        let input = member + member.dropLast(3)
        _ = expectFeedError(.truncated) { () throws(FeedError) in try gunzip(input, chunkSize: chunkSize) }
    }

    @Test("a wrong CRC32 or length in the trailer is reported as corrupt", arguments: chunkSizes)
    func corruptTrailer(chunkSize: Int) throws {
        var badCRC = try GzipWriter.compress(Self.text)
        badCRC[badCRC.count - 8] ^= 0x01
        let crcError = expectFeedError(.corrupt) { () throws(FeedError) in try gunzip(badCRC, chunkSize: chunkSize) }
        #expect(crcError?.reason.contains("incorrect data check") == true)

        var badLength = try GzipWriter.compress(Self.text)
        badLength[badLength.count - 1] ^= 0x40
        let lengthError = expectFeedError(.corrupt) { () throws(FeedError) in try gunzip(badLength, chunkSize: chunkSize) }
        #expect(lengthError?.reason.contains("incorrect length check") == true)
    }

    @Test("corrupted deflate data or header is reported as corrupt", arguments: chunkSizes)
    func corruptData(chunkSize: Int) throws {
        var badData = try GzipWriter.compress(Self.text, level: 9)
        for index in stride(from: badData.count / 3, to: badData.count / 3 + 16, by: 1) {
            badData[index] = 0xFF
        }
        let dataError = expectFeedError(.corrupt) { () throws(FeedError) in try gunzip(badData, chunkSize: chunkSize) }
        #expect((dataError?.byteOffset ?? 0) > 0)

        var badMethod = try GzipWriter.compress(Self.text)
        badMethod[2] = 7  // CM: only 8 (deflate) exists
        let methodError = expectFeedError(.corrupt) { () throws(FeedError) in try gunzip(badMethod, chunkSize: chunkSize) }
        #expect(methodError?.reason.contains("unknown compression method") == true)
    }

    @Test("bytes after the last member that are not a gzip member are trailing garbage", arguments: chunkSizes)
    func trailingGarbage(chunkSize: Int) throws {
        let member = try GzipWriter.compress(Array("data\n".utf8))
        for garbage: [UInt8] in [Array("hello".utf8), [0x1f], [0, 0, 0, 0], [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]] {
            let error = expectFeedError(.trailingGarbage) { () throws(FeedError) in try gunzip(member + garbage, chunkSize: chunkSize) }
            #expect(error?.byteOffset == Int64(member.count))
        }
    }

    @Test("input without the gzip magic passes through unchanged", arguments: chunkSizes)
    func passthrough(chunkSize: Int) throws {
        #expect(try gunzip(Self.text, chunkSize: chunkSize) == Self.text)
        #expect(try gunzip([], chunkSize: chunkSize) == [])
        #expect(try gunzip([0x1f], chunkSize: chunkSize) == [0x1f])
        #expect(try gunzip([0x1f, 0x8c, 0x00], chunkSize: chunkSize) == [0x1f, 0x8c, 0x00])
        // A ".gz" name does not matter, only the content does.
        let decoder = GzipDecoder(source: BufferByteSource(bytes: Self.text, chunkSize: chunkSize, name: "plain.csv.gz"))
        #expect(try decoder.readAll() == Self.text)
        #expect(decoder.isCompressed == false)
    }

    @Test("the ratio guard stops a gzip bomb", arguments: [1, 7, 4096, 1 << 20])
    func ratioGuard(chunkSize: Int) throws {
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        let bomb = try GzipWriter.compress(zeros, level: 9)
        #expect(zeros.count / bomb.count > 500)
        let limits = DecompressionLimits(maxRatio: 100)
        let error = expectFeedError(.decompressionLimitExceeded) { () throws(FeedError) in
            try gunzip(bomb, chunkSize: max(chunkSize, 4096), limits: limits)
        }
        #expect(error?.reason.contains("ratio") == true)
        // Stopped soon after the threshold rather than after inflating everything.
        let decoder = GzipDecoder(source: BufferByteSource(bytes: bomb, chunkSize: chunkSize), limits: limits)
        var sink: [UInt8] = []
        do {
            while try decoder.read(into: &sink, maxCount: 1 << 16) > 0 {}
            Issue.record("bomb decoded without error")
        } catch {
            #expect(error.code == .decompressionLimitExceeded)
        }
        #expect(decoder.outputBytes < 3 << 20)
    }

    @Test("the output size guard stops large outputs", arguments: chunkSizes)
    func outputGuard(chunkSize: Int) throws {
        let compressed = try GzipWriter.compress(Self.text)
        let limits = DecompressionLimits(maxOutputBytes: 10_000)
        let error = expectFeedError(.decompressionLimitExceeded) { () throws(FeedError) in
            try gunzip(compressed, chunkSize: chunkSize, limits: limits)
        }
        #expect(error?.reason.contains("10000") == true)
        #expect(try gunzip(compressed, chunkSize: chunkSize, limits: DecompressionLimits(maxOutputBytes: Int64(Self.text.count))) == Self.text)
    }

    @Test("the default limits accept ordinary compressible feeds")
    func defaultLimitsAcceptFeeds() throws {
        let big = sampleText(size: 4 << 20)
        #expect(try gunzip(try GzipWriter.compress(big, level: 9), chunkSize: 1 << 20) == big)
    }
}

@Suite("GzipWriter")
struct GzipWriterTests {
    @Test("output is valid for the gzip tool at every level", arguments: [0, 1, 6, 9] as [Int32])
    func gzipToolAccepts(level: Int32) throws {
        let text = sampleText(size: 100_000)
        let compressed = try GzipWriter.compress(text, level: level)
        #expect(try TestProgram.gzip(["-dc"], input: compressed) == text)
        if level == 0 {
            #expect(compressed.count > text.count)
        } else {
            #expect(compressed.count < text.count / 2)
        }
    }

    @Test("writing in pieces to a file descriptor round-trips through FileByteSource")
    func fileDescriptorSink() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("export.csv.gz").path
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            #expect(fd >= 0)
            let writer = try GzipWriter(level: 6, fileDescriptor: fd, name: path)
            var expected: [UInt8] = []
            for row in 0..<10_000 {
                let line = "row-\(row),\(row * 7)\n"
                try writer.write(line)
                expected += Array(line.utf8)
            }
            try writer.finish()
            try writer.finish()
            close(fd)
            #expect(writer.uncompressedBytes == Int64(expected.count))
            #expect(writer.compressedBytes == Int64(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int))
            let decoder = GzipDecoder(source: try FileByteSource(path: path))
            #expect(try decoder.readAll() == expected)
        }
    }

    @Test("an unfinished writer leaves a member the decoder calls truncated")
    func unfinished() throws {
        var output: [UInt8] = []
        let writer = try GzipWriter { output.append(contentsOf: $0) }
        try writer.write(sampleText(size: 200_000))
        #expect(!output.isEmpty)
        _ = expectFeedError(.truncated) { () throws(FeedError) in try gunzip(output, chunkSize: 4096) }
    }
}

@Suite("ByteSource")
struct ByteSourceTests {
    @Test("BufferByteSource never returns more than chunkSize bytes", arguments: chunkSizes)
    func bufferChunks(chunkSize: Int) throws {
        let bytes = sampleText(size: 10_000)
        var source = BufferByteSource(bytes: bytes, chunkSize: chunkSize)
        var collected: [UInt8] = []
        while true {
            let count = try source.read(into: &collected, maxCount: 5000)
            #expect(count <= chunkSize)
            if count == 0 { break }
        }
        #expect(collected == bytes)
        #expect(try source.read(into: &collected, maxCount: 10) == 0)
    }

    @Test("FileByteSource reads a file and names missing files in its error")
    func fileSource() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("feed.csv").path
            let bytes = sampleText(size: 300_000)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let source = try FileByteSource(path: path)
            #expect(source.name == path)
            #expect(try source.readAll(chunkSize: 1000) == bytes)

            let missing = directory.appendingPathComponent("missing.csv").path
            let error = expectFeedError(.io) { () throws(FeedError) in try FileByteSource(path: missing) }
            #expect(error?.source == missing)
            #expect(error?.reason.contains("No such file") == true)
        }
    }

    @Test("the path - reads standard input")
    func stdinName() throws {
        let source = try FileByteSource(path: "-")
        #expect(source.name == "stdin")
    }
}
