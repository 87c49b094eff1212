import Export
import Feeds
import Foundation
import Pipeline

/// Writes rejected records back in their input's own format, original bytes untouched, with
/// `line`, `reason` and `message` added — so the file can be fixed and fed again.
///
/// A second streaming pass over the input, merged with the ordered reject list: memory stays
/// flat however many records were rejected.
public struct RejectsFileWriter {
    public let definition: PipelineDefinition

    public init(definition: PipelineDefinition) {
        self.definition = definition
    }

    /// Writes one file per input that has rejects; returns their paths.
    public func write(rejects: RejectList, inputs: [String], directory: URL) throws -> [String] {
        var files = Set<Int>()
        try rejects.forEach { files.insert($0.file) }
        var written: [String] = []
        for (fileNumber, path) in inputs.enumerated() where files.contains(fileNumber) {
            let format = definition.format(forFile: path)
            let name = (inputs.count == 1 ? "rejects" : "rejects-\(fileNumber + 1)") + (format == .csv ? ".csv" : ".ndjson")
            let target = directory.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            createEmptyFile(atPath: target.path)
            guard let out = FileHandle(forWritingAtPath: target.path) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: target.path])
            }
            defer { try? out.close() }
            let pending = RejectCursor(list: rejects, file: fileNumber)
            switch format {
            case .csv: try writeCSV(input: path, cursor: pending, out: out)
            case .ndjson: try writeNDJSON(input: path, cursor: pending, out: out)
            }
            written.append(target.path)
        }
        return written
    }

    private func decoder(_ path: String) throws -> GzipDecoder<FileByteSource> {
        try GzipDecoder(source: FileByteSource(path: path), limits: DecompressionLimits(maxOutputBytes: definition.maxDecompressedBytes, maxRatio: definition.maxCompressionRatio))
    }

    private func writeCSV(input: String, cursor: RejectCursor, out: FileHandle) throws {
        var options = CSVOptions()
        options.delimiter = definition.delimiter
        let reader = CSVReader(source: try decoder(input), options: options)
        let d = definition.delimiter
        var buffer: [UInt8] = []
        func field(_ s: String) {
            let bytes = Array(s.utf8)
            if bytes.contains(where: { $0 == d || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
                buffer.append(0x22)
                for b in bytes { if b == 0x22 { buffer.append(0x22) }; buffer.append(b) }
                buffer.append(0x22)
            } else {
                buffer.append(contentsOf: bytes)
            }
        }
        func emit(raw: some Collection<UInt8>, entry: RejectList.Entry) {
            buffer.append(contentsOf: raw)
            buffer.append(d); field(String(entry.line))
            buffer.append(d); field(entry.reason)
            buffer.append(d); field(entry.message)
            buffer.append(0x0A)
            if buffer.count > 1 << 16 { out.write(Data(buffer)); buffer.removeAll(keepingCapacity: true) }
        }
        var headerDone = false
        while true {
            let next: Result<CSVRecord?, FeedError> = Result { () throws(FeedError) in try reader.next() }
            switch next {
            case .success(nil):
                out.write(Data(buffer))
                return
            case .success(let record?):
                if !headerDone {
                    if record.isBlank { continue }
                    headerDone = true
                    buffer.append(contentsOf: record.raw)
                    for name in ["line", "reason", "message"] { buffer.append(d); field(name) }
                    buffer.append(0x0A)
                    continue
                }
                while let entry = cursor.take(line: record.line) { emit(raw: record.raw, entry: entry) }
            case .failure(let error) where error.code == .unexpectedQuote:
                if let line = error.line {
                    while let entry = cursor.take(line: line) { emit(raw: error.record ?? [], entry: entry) }
                }
            case .failure(let error):
                throw error
            }
        }
    }

    private func writeNDJSON(input: String, cursor: RejectCursor, out: FileHandle) throws {
        let reader = NDJSONReader(source: try decoder(input))
        var buffer: [UInt8] = []
        while let line = try reader.next() {
            while let entry = cursor.take(line: line.line) {
                let tag = "\"line\":\(entry.line),\"reason\":\(jsonStringLiteral(entry.reason)),\"message\":\(jsonStringLiteral(entry.message))"
                let raw = line.raw
                let start = raw.firstIndex(where: { $0 != 0x20 && $0 != 0x09 })
                if let start, raw[start] == UInt8(ascii: "{"), (try? line.parseObject()) != nil {
                    // Insert the three keys after the brace: the original members stay byte for byte.
                    let rest = raw[(start + 1)...]
                    let empty = rest.first(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) == UInt8(ascii: "}")
                    buffer.append(contentsOf: raw[...start])
                    buffer.append(contentsOf: Array(tag.utf8))
                    if !empty { buffer.append(UInt8(ascii: ",")) }
                    buffer.append(contentsOf: rest)
                } else {
                    buffer.append(contentsOf: Array("{\(tag),\"record\":\(jsonStringLiteral(String(decoding: raw, as: UTF8.self)))}".utf8))
                }
                buffer.append(0x0A)
            }
            if buffer.count > 1 << 16 { out.write(Data(buffer)); buffer.removeAll(keepingCapacity: true) }
        }
        out.write(Data(buffer))
    }
}

/// Walks the reject entries of one input in line order, alongside the second reading pass.
final class RejectCursor {
    private let reader: RejectList.Reader
    private let file: Int
    private var current: RejectList.Entry?

    init(list: RejectList, file: Int) {
        reader = RejectList.Reader(list)
        self.file = file
        advance()
    }

    /// The next entry if it belongs to `line`.
    func take(line: Int) -> RejectList.Entry? {
        while let c = current, c.line < line { advance() }
        guard let c = current, c.line == line else { return nil }
        advance()
        return c
    }

    private func advance() {
        repeat { current = reader.next() } while current.map { $0.file != file } ?? false
    }
}
