#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CLibDeflate
import Feeds
import Foundation
import Pipeline
import PostgresClient

/// Why an export failed, with what the user needs to act on it.
public struct ExportError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure; extensible without breaking callers that switch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String { case invalidDefinition, output, cancelled, unexpectedRow }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// A wrong period, time zone, filter or option (exit 2).
        public static let invalidDefinition = Code(.invalidDefinition)
        /// The output file could not be created, written, synced or renamed.
        public static let output = Code(.output)
        /// Stopped on request (SIGINT/SIGTERM or the caller).
        public static let cancelled = Code(.cancelled)
        /// A row the summary could not read (a bug, or data no writer of ours produces).
        public static let unexpectedRow = Code(.unexpectedRow)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// Lets another thread (a signal handler, a test) stop an export; the COPY is cancelled on the
/// server and the partial file removed.
public final class ExportCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var reason: String?
    private var handle: CancelHandle?

    public init() {}

    /// Asks the export to stop: the statement in flight is cancelled on the server.
    public func cancel(reason: String) {
        lock.lock()
        defer { lock.unlock() }
        guard self.reason == nil else { return }
        self.reason = reason
        _ = handle?.cancel()
    }

    func attach(_ handle: CancelHandle?) {
        lock.lock()
        defer { lock.unlock() }
        self.handle = handle
        if reason != nil { _ = handle?.cancel() }
    }

    var requested: String? {
        lock.lock()
        defer { lock.unlock() }
        return reason
    }
}

/// The export's destination: a temp file beside the target that becomes the target only once
/// it is complete and synced (so a failed export leaves no file), or standard output.
final class ExportDestination {
    let path: String?
    private let temp: String?
    let fd: Int32
    private var done = false

    /// Opens `path` for an atomic write, or standard output for `nil`.
    init(path: String?) throws {
        self.path = path
        guard let path else {
            temp = nil
            fd = STDOUT_FILENO
            return
        }
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
        guard let path, let temp else { return }
        guard fsync(fd) == 0 else { throw ExportError(.output, "fsync \(temp): \(String(cString: strerror(errno)))") }
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

    /// Removes the partial file; safe to call more than once.
    func abort() {
        guard !done, let temp else { return }
        done = true
        close(fd)
        unlink(temp)
    }

    deinit { abort() }
}

/// A bounded hand-off of filled buffers from the COPY reader to the compressor thread, with the
/// emptied buffers coming back for reuse, so the steady state allocates nothing.
final class BufferPipe: @unchecked Sendable {
    private let condition = NSCondition()
    private var full: [[UInt8]] = []
    private var empty: [[UInt8]] = []
    private let capacity: Int
    private var finished = false
    private var failure: (any Error)?

    init(capacity: Int) { self.capacity = capacity }

    /// Blocks while `capacity` buffers wait; throws the consumer's error once it has failed.
    func send(_ buffer: [UInt8]) throws {
        condition.lock()
        defer { condition.unlock() }
        while full.count >= capacity && failure == nil { condition.wait() }
        if let failure { throw failure }
        full.append(buffer)
        condition.broadcast()
    }

    /// An emptied buffer to fill next (a new one until buffers come back).
    func recycled(capacity: Int) -> [UInt8] {
        condition.lock()
        defer { condition.unlock() }
        if var b = empty.popLast() {
            b.removeAll(keepingCapacity: true)
            return b
        }
        var b = [UInt8]()
        b.reserveCapacity(capacity)
        return b
    }

    /// The producer is done.
    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next buffer, `nil` at the end.
    func receive() -> [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        while full.isEmpty && !finished && failure == nil { condition.wait() }
        if failure != nil || full.isEmpty { return nil }
        condition.broadcast()
        return full.removeFirst()
    }

    /// Hands a written buffer back.
    func giveBack(_ buffer: [UInt8]) {
        condition.lock()
        if empty.count < capacity + 1 { empty.append(buffer) }
        condition.unlock()
    }

    /// The consumer failed: the producer's next send throws `error`.
    func fail(_ error: any Error) {
        condition.lock()
        if failure == nil { failure = error }
        full.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}

/// Compresses (optionally), hashes and writes buffers on its own thread: PostgreSQL produces on
/// one core while this thread compresses on the other.
final class ExportWriterThread: @unchecked Sendable {
    struct Result {
        var bytes: Int64
        var sha256: String
        var error: (any Error)?
    }

    private let pipe: BufferPipe
    private let destination: ExportDestination
    private let gzip: Bool
    private let done = DispatchSemaphore(value: 0)
    private var result = Result(bytes: 0, sha256: "", error: nil)

    init(pipe: BufferPipe, destination: ExportDestination, gzip: Bool) {
        self.pipe = pipe
        self.destination = destination
        self.gzip = gzip
    }

    func start() {
        let thread = Thread { [self] in
            result = work()
            done.signal()
        }
        thread.name = "export-writer"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Waits for the thread to drain the pipe and returns what it wrote.
    func wait() -> Result {
        done.wait()
        return result
    }

    private func work() -> Result {
        var hasher = SHA256()
        var bytes: Int64 = 0
        let fd = destination.fd
        let name = destination.path ?? "standard output"
        func sink(_ chunk: UnsafeRawBufferPointer) throws {
            hasher.update(chunk)
            bytes += Int64(chunk.count)
            try writeAll(fd, chunk, name: name)
        }
        do {
            let compressor = gzip ? try MemberCompressor(level: 6) : nil
            while let buffer = pipe.receive() {
                try buffer.withUnsafeBytes { raw in
                    if let compressor { try sink(try compressor.compress(raw)) } else { try sink(raw) }
                }
                pipe.giveBack(buffer)
            }
            return Result(bytes: bytes, sha256: SHA256.hex(hasher.finalize()), error: nil)
        } catch {
            // Wakes a producer blocked in send, which then stops the COPY.
            pipe.fail(error)
            return Result(bytes: bytes, sha256: "", error: error)
        }
    }
}

/// Compresses each buffer into one complete gzip member (RFC 1952 allows any number, and `zcat`,
/// `gzip -d` and our own reader read them as one stream). libdeflate compresses whole buffers with
/// about a third less CPU than zlib's streaming deflate at the same level, and smaller: that CPU
/// is what the export competes for with PostgreSQL on a two-core machine.
final class MemberCompressor {
    private let compressor: OpaquePointer
    private var output: UnsafeMutableRawBufferPointer

    init(level: Int32) throws {
        guard let c = libdeflate_alloc_compressor(level) else {
            throw ExportError(.output, "libdeflate could not allocate a level \(level) compressor")
        }
        compressor = c
        output = .allocate(byteCount: 1 << 16, alignment: 16)
    }

    deinit {
        libdeflate_free_compressor(compressor)
        output.deallocate()
    }

    /// The gzip member for `input`; valid until the next call.
    func compress(_ input: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer {
        let bound = libdeflate_gzip_compress_bound(compressor, input.count)
        if output.count < bound {
            output.deallocate()
            output = .allocate(byteCount: bound, alignment: 16)
        }
        let n = libdeflate_gzip_compress(compressor, input.baseAddress, input.count, output.baseAddress, output.count)
        guard n > 0 else { throw ExportError(.output, "libdeflate could not compress a \(input.count)-byte buffer") }
        return UnsafeRawBufferPointer(rebasing: output[0..<n])
    }
}
