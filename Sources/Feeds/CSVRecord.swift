/// One CSV record: its fields (unquoted, unescaped bytes), the physical line it starts on, and its
/// original bytes without the line terminator.
///
/// Fields are slices of one shared buffer, so reading them allocates nothing. An empty line is a
/// record with one empty field (`isBlank`); callers that ignore blank lines skip those.
public struct CSVRecord: Sendable, RandomAccessCollection, Equatable, CustomDebugStringConvertible {
    /// 1-based physical line where the record starts (CR, LF and CRLF each end a line, also
    /// inside quoted fields).
    public let line: Int
    /// 0-based offset of the record's first byte in the decoded input.
    public let byteOffset: Int64
    // The raw record, followed by unescaped copies of fields that contained doubled quotes.
    private let storage: [UInt8]
    private let rawCount: Int
    // Two entries per field: start and end offsets into `storage`.
    private let bounds: [Int]

    init(line: Int, byteOffset: Int64, storage: [UInt8], rawCount: Int, bounds: [Int]) {
        self.line = line
        self.byteOffset = byteOffset
        self.storage = storage
        self.rawCount = rawCount
        self.bounds = bounds
    }

    /// Builds a record from field strings, for tests and callers that synthesize records.
    public init(fields: [String], line: Int = 1) {
        var storage: [UInt8] = []
        var bounds: [Int] = []
        for field in fields {
            bounds.append(storage.count)
            storage.append(contentsOf: field.utf8)
            bounds.append(storage.count)
        }
        self.init(line: line, byteOffset: 0, storage: storage, rawCount: 0, bounds: bounds)
    }

    /// The record exactly as it appeared in the input, without its line terminator.
    public var raw: ArraySlice<UInt8> { storage[0..<rawCount] }

    /// True for an empty line: one empty field and no bytes.
    public var isBlank: Bool { rawCount == 0 && bounds.count == 2 && bounds[0] == bounds[1] }

    public var startIndex: Int { 0 }
    public var endIndex: Int { bounds.count / 2 }

    /// The bytes of field `index` (quotes removed, doubled quotes collapsed).
    public subscript(index: Int) -> ArraySlice<UInt8> {
        storage[bounds[2 * index]..<bounds[2 * index + 1]]
    }

    /// Field `index` decoded as UTF-8 (invalid sequences become U+FFFD).
    public func string(at index: Int) -> String {
        storage.withUnsafeBufferPointer { buffer in
            String(decoding: UnsafeBufferPointer(rebasing: buffer[bounds[2 * index]..<bounds[2 * index + 1]]), as: UTF8.self)
        }
    }

    /// Field `index` as UTF-8, or `nil` for an index past the last field (short rows).
    public func string(atIfPresent index: Int) -> String? {
        index < count ? string(at: index) : nil
    }

    /// All fields decoded as UTF-8; allocates, so keep it out of hot loops.
    public var strings: [String] { indices.map(string(at:)) }

    /// Calls `body` with field `index`'s bytes without copying them.
    public func withField<R, E: Error>(at index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        let range = bounds[2 * index]..<bounds[2 * index + 1]
        var result: Result<R, E>!
        storage.withUnsafeBufferPointer { buffer in
            do throws(E) {
                result = .success(try body(UnsafeBufferPointer(rebasing: buffer[range])))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    public static func == (lhs: CSVRecord, rhs: CSVRecord) -> Bool {
        lhs.line == rhs.line && lhs.raw == rhs.raw && lhs.elementsEqual(rhs)
    }

    public var debugDescription: String {
        "CSVRecord(line: \(line), fields: \(strings))"
    }
}
