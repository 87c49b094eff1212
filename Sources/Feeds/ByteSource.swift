/// A pull-based stream of bytes read in chunks, so memory stays bounded by the caller's buffer.
public protocol ByteSource {
    /// A name for error messages (a path, `stdin`, or a label for in-memory data).
    var name: String { get }

    /// Fills the start of `buffer` with up to `buffer.count` bytes and returns how many; 0 means
    /// end of input (and only end of input, for a non-empty buffer).
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(FeedError) -> Int
}

extension ByteSource {
    /// Appends up to `maxCount` bytes to `buffer` and returns how many; 0 means end of input.
    public mutating func read(into buffer: inout [UInt8], maxCount: Int) throws(FeedError) -> Int {
        try appendRead(from: &self, into: &buffer, maxCount: maxCount)
    }

    /// Reads everything that is left; for tests and small inputs only, since it is unbounded.
    public mutating func readAll(chunkSize: Int = 64 * 1024) throws(FeedError) -> [UInt8] {
        try readRemaining(from: &self, chunkSize: chunkSize)
    }
}

// Class sources (files, decoders) are used through `let` references; these spare callers a `var`.
extension ByteSource where Self: AnyObject {
    /// Appends up to `maxCount` bytes to `buffer` and returns how many; 0 means end of input.
    public func read(into buffer: inout [UInt8], maxCount: Int) throws(FeedError) -> Int {
        var source = self
        return try appendRead(from: &source, into: &buffer, maxCount: maxCount)
    }

    /// Reads everything that is left; for tests and small inputs only, since it is unbounded.
    public func readAll(chunkSize: Int = 64 * 1024) throws(FeedError) -> [UInt8] {
        var source = self
        return try readRemaining(from: &source, chunkSize: chunkSize)
    }
}

private func appendRead<S: ByteSource>(from source: inout S, into buffer: inout [UInt8], maxCount: Int) throws(FeedError) -> Int {
    precondition(maxCount > 0, "maxCount must be positive")
    // Read into scratch space and append only what arrived, so the cost follows the bytes read,
    // not `maxCount` (sources may return one byte at a time).
    var result: Result<Int, FeedError> = .success(0)
    withUnsafeTemporaryAllocation(byteCount: min(maxCount, 64 * 1024), alignment: 1) { scratch in
        result = Result { () throws(FeedError) in try source.read(into: scratch) }
        if case .success(let count) = result, count > 0 {
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<count]))
        }
    }
    return try result.get()
}

private func readRemaining<S: ByteSource>(from source: inout S, chunkSize: Int) throws(FeedError) -> [UInt8] {
    var bytes: [UInt8] = []
    while try appendRead(from: &source, into: &bytes, maxCount: chunkSize) > 0 {}
    return bytes
}
/// In-memory bytes served at most `chunkSize` bytes per read, to exercise chunk boundaries.
public struct BufferByteSource: ByteSource, Sendable {
    /// The label used in errors.
    public let name: String
    private let bytes: [UInt8]
    private let chunkSize: Int
    private var position = 0

    /// Serves `bytes` in reads of at most `chunkSize` bytes.
    public init(bytes: [UInt8], chunkSize: Int = .max, name: String = "<memory>") {
        precondition(chunkSize > 0, "chunkSize must be positive")
        self.bytes = bytes
        self.chunkSize = chunkSize
        self.name = name
    }

    /// Serves the UTF-8 bytes of `string`.
    public init(string: String, chunkSize: Int = .max, name: String = "<memory>") {
        self.init(bytes: Array(string.utf8), chunkSize: chunkSize, name: name)
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(FeedError) -> Int {
        let count = min(buffer.count, chunkSize, bytes.count - position)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + position, byteCount: count)
        }
        position += count
        return count
    }
}
