import Feeds
import Foundation
import OrderflowTestSupport
import Testing

/// Chunk sizes every streaming test runs with: byte-at-a-time up to "everything at once".
let chunkSizes = [1, 2, 3, 7, 64, 4096, 1 << 20]

extension Array where Element == UInt8 {
    init(_ string: String) { self = Array(string.utf8) }
}

/// Reads every CSV record, with the source and the reader's own buffer both limited to
/// `chunkSize` so that chunk boundaries fall everywhere.
func readCSV(_ bytes: [UInt8], chunkSize: Int, options: CSVOptions = CSVOptions()) throws(FeedError) -> [CSVRecord] {
    var options = options
    options.readChunkSize = chunkSize
    let reader = CSVReader(source: BufferByteSource(bytes: bytes, chunkSize: chunkSize, name: "test.csv"), options: options)
    var records: [CSVRecord] = []
    while let record = try reader.next() {
        records.append(record)
    }
    return records
}

func readCSV(_ text: String, chunkSize: Int, options: CSVOptions = CSVOptions()) throws(FeedError) -> [CSVRecord] {
    try readCSV(Array(text.utf8), chunkSize: chunkSize, options: options)
}

/// Decodes `bytes` through `GzipDecoder`, feeding and draining it `chunkSize` bytes at a time.
func gunzip(_ bytes: [UInt8], chunkSize: Int, limits: DecompressionLimits = DecompressionLimits()) throws(FeedError) -> [UInt8] {
    let decoder = GzipDecoder(
        source: BufferByteSource(bytes: bytes, chunkSize: chunkSize, name: "test.gz"),
        limits: limits, inputChunkSize: max(2, min(chunkSize, 1 << 16))
    )
    var output: [UInt8] = []
    while try decoder.read(into: &output, maxCount: min(chunkSize, 1 << 16)) > 0 {}
    return output
}

/// Runs `body` expecting a `FeedError`, and returns it for further checks.
func expectFeedError<R>(
    _ code: FeedError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws(FeedError) -> R
) -> FeedError? {
    do {
        let value = try body()
        Issue.record("expected \(code), got \(value)", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    }
}

/// A fresh temporary directory, removed after `body`.
func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    let directory = try TemporaryDirectory(prefix: "feeds-tests")
    return try withExtendedLifetime(directory) { try body(directory.url) }
}

/// Deterministic CSV-like text of about `size` bytes.
func sampleText(size: Int, seed: UInt64 = 42) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    var text: [UInt8] = []
    text.reserveCapacity(size + 100)
    text += Array("order_id,customer_id,status,amount\n".utf8)
    var row = 0
    let statuses = ["processing", "shipped", "in_transit", "delivered", "cancelled"]
    while text.count < size {
        row += 1
        let status = statuses[Int(generator.next() % UInt64(statuses.count))]
        let amount = generator.next() % 100_000
        text += Array("ORD-\(row),C\(generator.next() % 5000),\(status),\(amount / 100).\(amount % 100)\n".utf8)
    }
    return text
}

struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
