import Feeds
import Foundation

/// The rejected records of a run, in input order, as a temporary file of COPY text rows
/// (`pos`, `reason`, `message`), so their number never bounds memory.
public struct RejectList: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// A new, empty list in the temporary directory (its file exists from the start).
    static func create() throws -> RejectList {
        let path = NSTemporaryDirectory() + "/orderflow-rejects-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tsv"
        guard createEmptyFile(atPath: path) else {
            throw RunError.configuration("cannot create a temporary file in \(NSTemporaryDirectory())")
        }
        return RejectList(path: path)
    }

    /// One rejected record.
    public struct Entry: Sendable, Equatable {
        public var file: Int
        public var line: Int
        public var reason: String
        public var message: String
    }

    /// Calls `body` for each entry in order.
    public func forEach(_ body: (Entry) throws -> Void) throws {
        let reader = Reader(self)
        while let entry = reader.next() { try body(entry) }
    }

    /// Reads the entries one at a time, in 64 KiB reads: memory stays flat however long the list.
    public final class Reader {
        private let handle: FileHandle?
        private var pending: [UInt8] = []
        private var start = 0
        private var exhausted = false

        public init(_ list: RejectList) {
            handle = FileHandle(forReadingAtPath: list.path)
        }

        deinit { try? handle?.close() }

        /// The next entry, `nil` at the end.
        public func next() -> Entry? {
            while true {
                if let nl = pending[start...].firstIndex(of: 0x0A) {
                    let entry = RejectList.parse(pending[start..<nl])
                    start = nl + 1
                    if let entry { return entry }
                    continue
                }
                if exhausted { return nil }
                pending.removeFirst(start)
                start = 0
                guard let data = handle?.readData(ofLength: 1 << 16), !data.isEmpty else {
                    exhausted = true
                    continue
                }
                pending.append(contentsOf: data)
            }
        }
    }

    /// Parses one row of the list file.
    public static func parse(_ row: ArraySlice<UInt8>) -> Entry? {
        let fields = row.split(separator: 0x09, omittingEmptySubsequences: false).map(unescape)
        guard fields.count == 3, let pos = Int64(fields[0]) else { return nil }
        let (file, line) = StageRowEncoder.split(position: pos)
        return Entry(file: file, line: line, reason: fields[1], message: fields[2])
    }

    /// Undoes COPY text escaping (`\\`, `\t`, `\n`, `\r`).
    static func unescape(_ field: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(field.count)
        var escaped = false
        for b in field {
            if escaped {
                switch b {
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                default: out.append(b)
                }
                escaped = false
            } else if b == 0x5C {
                escaped = true
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
