@preconcurrency import Glibc
import Crypto
import ErrorCodes
import Feeds
import Foundation
import OrderModel
import RunSupport
import Synchronization

extension ErrorCode where Domain == ExportFailure {
    /// More rows than an xlsx sheet holds (Excel's 1,048,576, header included).
    public static let sheetFull = Self("sheetFull")
}

/// The export's summary, handed from the COPY thread to the xlsx writer: the `Totals` sheet
/// needs the final figures, which exist only once the last row has been read.
final class XLSXSummaryHandOff: Sendable {
    private let value = Mutex<ExportSummary?>(nil)

    /// Called by the producer after its last buffer and before `BoundedChannel.finish()`, so the
    /// writer, which reads it once `receive()` says the end, always finds it.
    func deliver(_ summary: ExportSummary) { value.withLock { $0 = summary } }

    func take() -> ExportSummary? { value.withLock { $0 } }
}

/// The xlsx counterpart of `ExportWriter`: on its own thread, turns the COPY's CSV buffers into
/// typed cells of a constant-memory libxlsxwriter workbook, adds the `Totals` sheet from the
/// summary, has libxlsxwriter write the file, then hashes it (and streams it to standard output
/// when that is the destination). PostgreSQL produces on one core while this builds on the other.
enum XLSXExportWriter {
    /// Starts draining `channel`; the consumed buffers go back for reuse. On a failure the channel
    /// is cancelled with the error, so a producer blocked in `send` stops.
    static func start(channel: BoundedChannel<[UInt8]>, destination: ExportDestination, query: ExportQuery,
                      summary: XLSXSummaryHandOff) -> WorkerThread<ExportWriter.Written> {
        let definition = query.definition
        let columns = query.columns.map(\.name)
        // A file is written straight to the destination's temp file beside the target (which the
        // destination syncs and renames); standard output gets a private temp file that is
        // streamed out once finished, because libxlsxwriter writes a zip it seeks in.
        let target = destination.temp
        let directory = target.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? NSTemporaryDirectory()
        // Standard output also goes to the destination's copy, which the ledger keeps.
        let copies = target == nil ? [destination.fd] + (destination.copyFD.map { [$0] } ?? []) : []
        let created = creationTime(query)
        return WorkerThread(name: "orderflow.export-xlsx") {
            let path = target ?? "\(directory)/.orderflow-export.\(getpid()).\(UInt32.random(in: 0...UInt32.max)).xlsx"
            defer { if target == nil { unlink(path) } }
            do {
                let workbook = try XLSXWorkbook(path: path, tmpdir: directory)
                try workbook.setCreated(unixSeconds: created)
                var sheet = try XLSXDataSheet(workbook: workbook, name: definition.dataset.rawValue, columns: columns,
                                              timezone: definition.timezone)
                while let buffer = try channel.receive() {
                    try sheet.write(buffer)
                    channel.giveBack(buffer)
                }
                let rows = try sheet.finish()
                guard let figures = summary.take() else {
                    throw ExportError(.unexpectedRow, "the export ended without its summary for the Totals sheet")
                }
                guard figures.rows == rows else {
                    throw ExportError(.unexpectedRow, "the sheet has \(rows) rows but the summary counted \(figures.rows)")
                }
                try XLSXTotalsSheet.write(figures, dataset: definition.dataset, into: workbook)
                try workbook.close()
                return try hash(path, copyingTo: copies)
            } catch {
                channel.cancel(error: error)
                throw error
            }
        }
    }

    /// The workbook's creation time: the period's end, else its start, else 2000-01-01T00:00:00Z —
    /// never the time of writing, so the same rows always give the same bytes and SHA-256.
    static func creationTime(_ query: ExportQuery) -> Int {
        let bound = query.settings.first { $0.name == ExportQuery.toSetting } ?? query.settings.first { $0.name == ExportQuery.fromSetting }
        guard let text = bound?.value, let instant = Timestamp(rfc3339: text) else { return 946_684_800 }
        return Int(instant.microseconds / 1_000_000)
    }

    /// Size and SHA-256 of the finished file, read in 1 MiB pieces; also written to each of `copies`.
    static func hash(_ path: String, copyingTo copies: [Int32]) throws -> ExportWriter.Written {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ExportError(.output, "cannot read back \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var hasher = SHA256()
        var bytes: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw ExportError(.output, "cannot read back \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            hasher.update(bufferPointer: chunk)
            bytes += Int64(n)
            for copy in copies { try writeAll(copy, chunk, name: "standard output") }
        }
        return ExportWriter.Written(bytes: bytes, sha256: ContentHash.hex(hasher.finalize()))
    }
}
