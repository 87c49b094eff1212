import Foundation

/// "read 45% of 120 MB, 180k rows/s, 38 MB/s, ETA 2 s" on stderr once a second, only when it is a terminal.
final class ProgressMeter: @unchecked Sendable {
    private let totalBytes: Int64
    private let enabled = isatty(2) == 1
    private let lock = NSLock()
    private var bytes: Int64 = 0
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastShown: UInt64 = 0
    private var shown = false
    private var rows = 0

    private let countsRows: Bool

    init(totalBytes: Int64, countsRows: Bool = true) {
        self.totalBytes = max(totalBytes, 1)
        self.countsRows = countsRows
    }

    /// Called by the reader thread with the input bytes consumed so far.
    func update(_ bytes: Int64) {
        lock.lock(); self.bytes = bytes; lock.unlock()
    }

    /// Called by the COPY thread with each staged chunk; prints at most once a second.
    func show(rows chunk: [UInt8]) {
        guard enabled else { return }
        if countsRows { rows += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastShown > 1_000_000_000 else { return }
        lastShown = now
        lock.lock(); let b = bytes; lock.unlock()
        let seconds = Double(now - start) / 1e9
        let rate = Double(b) / max(seconds, 0.001)
        let eta = rate > 0 ? Double(totalBytes - b) / rate : 0
        let rowRate = countsRows ? String(format: "%.0fk rows/s, ", Double(rows) / max(seconds, 0.001) / 1000) : ""
        let line = String(format: "\rorderflow: read %3.0f%% of %.1f MB, %@%.1f MB/s, ETA %.0f s   ",
                          Double(b) * 100 / Double(totalBytes), Double(totalBytes) / 1e6, rowRate, rate / 1e6, eta)
        FileHandle.standardError.write(Data(line.utf8))
        shown = true
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
