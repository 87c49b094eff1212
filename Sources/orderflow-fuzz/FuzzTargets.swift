// Fuzz targets for everything that reads untrusted bytes: gzip, CSV, NDJSON, pipeline YAML, and
// the timestamp, money and event-time parsers. Any error is a fine answer; a crash, a hang or a
// sanitizer report is the bug.
//
// Built with libFuzzer (see docs/fuzzing.md):
//   swift build --scratch-path .build-fuzz --product orderflow-fuzz \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING
//   ORDERFLOW_FUZZ_TARGET=csv .build-fuzz/debug/orderflow-fuzz fuzz/corpus/csv -max_total_time=60
// Built normally, the same binary replays inputs: `orderflow-fuzz csv FILE…`.
import Feeds
import Foundation
import OrderModel
import Pipeline

/// The readers a fuzz run can drive.
enum FuzzTarget: String, CaseIterable {
    case gzip, csv, ndjson, yaml, time

    /// Runs one input through the target; returns normally whatever the input is.
    func exercise(_ bytes: [UInt8]) {
        switch self {
        case .gzip:
            // Small limits, so a bomb in the corpus is stopped quickly rather than filling memory.
            let decoder = GzipDecoder(source: BufferByteSource(bytes: bytes, chunkSize: 61),
                                      limits: DecompressionLimits(maxOutputBytes: 4 << 20, maxRatio: 200, ratioCheckThreshold: 1 << 16),
                                      inputChunkSize: 113)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while (try? buffer.withUnsafeMutableBytes { try decoder.read(into: $0) }).map({ $0 > 0 }) == true {}
        case .csv:
            var options = CSVOptions()
            options.maxFieldSize = 1 << 16
            options.maxRecordSize = 1 << 18
            let reader = CSVReader(source: BufferByteSource(bytes: bytes, chunkSize: 37), options: options)
            if let header = try? reader.nextNonBlank() {
                let names = CSVHeader(record: header)
                while let next = try? reader.nextOrMalformed() {
                    if case .success(let record) = next {
                        for i in 0..<record.count { _ = names.index(of: String(decoding: record[i].prefix(8), as: UTF8.self)) }
                    }
                }
            }
        case .ndjson:
            let reader = NDJSONReader(source: BufferByteSource(bytes: bytes, chunkSize: 53), maxLineSize: 1 << 18)
            while let line = try? reader.next() {
                _ = try? line.parse(maxDepth: 64)
            }
        case .yaml:
            _ = try? PipelineDefinition.parse(yaml: String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml")
        case .time:
            let text = String(decoding: bytes.prefix(200), as: UTF8.self)
            _ = Timestamp(rfc3339: text, assumeUTC: true)
            var slice = bytes[...]
            _ = Money(bytes: &slice)
            // The first line picks a pattern, the rest is the value read with it.
            let parts = text.split(separator: "\n", maxSplits: 1).map(String.init)
            if parts.count == 2, let format = EventTimeFormat(format: parts[0], zone: "America/Chicago") {
                _ = EventTimeParser(format).parse(Array(parts[1].utf8)[...])
            }
            for format in ["rfc3339", "epoch_seconds", "epoch_millis", "M/D/YYYY h:mm a", "YYYYMMDD HHmmss.SSS"] {
                _ = EventTimeParser(EventTimeFormat(format: format, zone: "Europe/Berlin")!).parse(bytes.prefix(64))
            }
        }
    }

    /// From ORDERFLOW_FUZZ_TARGET (libFuzzer owns the command line).
    static let current: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["ORDERFLOW_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("set ORDERFLOW_FUZZ_TARGET to one of \(allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
            exit(2)
        }
        return target
    }()
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.current.exercise(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

// SwiftPM links an executable's entry point under this name; hand control to libFuzzer's driver.
@_cdecl("orderflow_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return runFuzzerDriver(&count, &vector, fuzzOneInput)
}
#else
/// Replay: `orderflow-fuzz TARGET FILE|DIR…` runs every file through the target.
@main
struct Replay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("usage: orderflow-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE|DIR…\n".utf8))
            exit(2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 } : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                target.exercise(Array(data))
                count += 1
            }
        }
        print("\(target.rawValue): \(count) inputs replayed without a crash")
    }
}
#endif
