@preconcurrency import Glibc
import Foundation

/// A directory new feeds land in (`orderflow run --inbox`, docs/operations.md): which files are
/// ready, who may take them, and where they go once run.
public struct Inbox: Sendable {
    public let settings: PipelineDefinition.InboxSettings

    public init(_ settings: PipelineDefinition.InboxSettings) {
        self.settings = settings
    }

    public var directory: String { settings.directory }
    public var processedDirectory: String { "\(directory)/\(settings.processed)" }
    public var failedDirectory: String { "\(directory)/\(settings.failed)" }

    /// Where a file went once its run ended.
    public enum Destination: Sendable { case processed, failed }

    /// An exclusive hold on the inbox: while it is held, no other orderflow takes its files.
    public final class Lock: Sendable {
        let descriptor: Int32
        init(descriptor: Int32) { self.descriptor = descriptor }
        deinit { close(descriptor) } // closing releases the flock
    }

    /// Takes the inbox's lock (`flock` on `.orderflow-inbox.lock` in the directory), or returns
    /// nil at once when another process holds it: two schedulers never take one file twice.
    public func lock() throws -> Lock? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunError.configuration("inbox \(directory) is not a directory")
        }
        let path = "\(directory)/.orderflow-inbox.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunError.configuration("cannot open the inbox lock \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            close(fd)
            if busy { return nil }
            throw RunError.configuration("cannot lock the inbox \(path): \(String(cString: strerror(errno)))")
        }
        // The holder's pid, for the person wondering who has it.
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        return Lock(descriptor: fd)
    }

    /// The files ready to run, oldest name first: regular files matching the pattern, whose names
    /// do not start with `.` and do not end in `.part` or `.tmp` (names that are still being
    /// written), and that were not modified in the last `settle_seconds`.
    public func readyFiles(now: Date = Date()) throws -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw RunError.configuration("cannot list the inbox \(directory): \(error.localizedDescription)")
        }
        return names.filter { name in
            guard !name.hasPrefix("."), !name.hasSuffix(".part"), !name.hasSuffix(".tmp"),
                  fnmatch(settings.pattern, name, 0) == 0 else { return false }
            var info = stat()
            guard stat("\(directory)/\(name)", &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
            let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
            return now.timeIntervalSince1970 - modified >= settings.settleSeconds
        }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// Moves `name` out of the inbox by a rename (never a copy: the inbox and its processed and
    /// failed directories must be on one file system), to a free name in the destination (a
    /// file of the same name there gets `.1`, `.2`, … appended). Returns the new path.
    public func move(_ name: String, to destination: Destination) throws -> String {
        let target = destination == .processed ? processedDirectory : failedDirectory
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        var path = "\(target)/\(name)"
        var n = 0
        while FileManager.default.fileExists(atPath: path) {
            n += 1
            path = "\(target)/\(name).\(n)"
        }
        guard rename("\(directory)/\(name)", path) == 0 else {
            let reason = errno == EXDEV ? "it is on another file system than the inbox" : String(cString: strerror(errno))
            throw RunError.configuration("cannot move \(directory)/\(name) to \(path): \(reason)")
        }
        return path
    }
}
