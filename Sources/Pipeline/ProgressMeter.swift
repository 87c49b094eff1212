import Foundation
import Synchronization

/// "read 45% of 120 MB, 180k rows/s, 38 MB/s, ETA 2 s" on stderr once a second, only when it is a terminal.
final class ProgressMeter: Sendable {
    private struct Display {
        var lastShown: UInt64 = 0
        var shown = false
        var rows = 0
    }

    private let totalBytes: Int64
    private let enabled = isatty(2) == 1
    private let start = DispatchTime.now().uptimeNanoseconds
    private let countsRows: Bool
    /// Written by the reader thread, read by the COPY thread.
    private let bytes = Atomic<Int64>(0)
    private let display = Mutex(Display())

    init(totalBytes: Int64, countsRows: Bool = true) {
        self.totalBytes = max(totalBytes, 1)
        self.countsRows = countsRows
    }

    /// Called by the reader thread with the input bytes consumed so far.
    func update(_ bytes: Int64) {
        self.bytes.store(bytes, ordering: .relaxed)
    }

    /// Called by the COPY thread with each staged chunk; prints at most once a second.
    func show(rows chunk: [UInt8]) {
        guard enabled else { return }
        let newRows = countsRows ? chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } : 0
        let now = DispatchTime.now().uptimeNanoseconds
        guard let rows = display.withLock({ d -> Int? in
            d.rows += newRows
            guard now - d.lastShown > 1_000_000_000 else { return nil }
            d.lastShown = now
            d.shown = true
            return d.rows
        }) else { return }
        let b = bytes.load(ordering: .relaxed)
        let seconds = Double(now - start) / 1e9
        let rate = Double(b) / max(seconds, 0.001)
        let eta = rate > 0 ? Double(totalBytes - b) / rate : 0
        let rowRate = countsRows ? String(format: "%.0fk rows/s, ", Double(rows) / max(seconds, 0.001) / 1000) : ""
        let line = String(format: "\rorderflow: read %3.0f%% of %.1f MB, %@%.1f MB/s, ETA %.0f s   ",
                          Double(b) * 100 / Double(totalBytes), Double(totalBytes) / 1e6, rowRate, rate / 1e6, eta)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        if display.withLock({ $0.shown }) { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
