@preconcurrency import Glibc
import Foundation

/// The export's destination: a temp file beside the target that becomes the target only once
/// it is complete and synced (so a failed export leaves no file), or standard output.
final class ExportDestination {
    let path: String?
    /// The temp file beside the target (`nil` for standard output); the xlsx writer hands this
    /// path to libxlsxwriter, which writes the finished workbook there.
    let temp: String?
    let fd: Int32
    /// Standard output cannot be read back: the bytes also go to an unlinked file, for the ledger.
    let copyFD: Int32?
    private var done = false

    /// Opens `path` for an atomic write, or standard output for `nil`.
    init(path: String?) throws {
        self.path = path
        guard let path else {
            temp = nil
            fd = STDOUT_FILENO
            var template = Array("\(NSTemporaryDirectory())/.orderflow-export.XXXXXX".utf8CString)
            let copy = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard copy >= 0 else { throw ExportError(.output, "cannot create a temporary file: \(String(cString: strerror(errno)))") }
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            copyFD = copy
            return
        }
        copyFD = nil
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let t = "\(dir)/.\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let opened = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard opened >= 0 else {
            throw ExportError(.output, "cannot create \(t) beside \(path): \(String(cString: strerror(errno)))")
        }
        temp = t
        fd = opened
    }

    /// Makes the file durable and puts it in place (fsync, rename, fsync of the directory).
    func commit() throws {
        try sync()
        try publish()
    }

    /// Makes the complete file durable under its temp name.
    func sync() throws {
        guard let temp else { return }
        guard fsync(fd) == 0 else { throw ExportError(.output, "fsync \(temp): \(String(cString: strerror(errno)))") }
    }

    /// A descriptor to read the written bytes from the start (`pread`), owned by the caller.
    func readBack() throws -> Int32 {
        if let copyFD { return dup(copyFD) }
        guard let temp else { throw ExportError(.output, "nothing to read back") }
        let r = open(temp, O_RDONLY | O_CLOEXEC)
        guard r >= 0 else { throw ExportError(.output, "cannot read back \(temp): \(String(cString: strerror(errno)))") }
        return r
    }

    /// Renames the synced temp file to its name and syncs the directory.
    func publish() throws {
        guard let path, let temp else { return abort() }
        close(fd)
        done = true
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw ExportError(.output, "cannot rename \(temp) to \(path): \(reason)")
        }
        let dir = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY)
        if dir >= 0 {
            _ = fsync(dir)
            close(dir)
        }
    }

    /// Removes the partial file (for standard output: closes the copy); safe to call more than once.
    func abort() {
        if let copyFD, !done {
            close(copyFD)
            done = true
            return
        }
        guard !done, let temp else { return }
        done = true
        close(fd)
        unlink(temp)
    }

    deinit { abort() }
}
