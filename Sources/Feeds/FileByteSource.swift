@preconcurrency import Glibc

/// Reads a file (or standard input for the path `-`) with POSIX `read`, closing it on deinit.
public final class FileByteSource: ByteSource {
    /// The path as given, or `stdin`.
    public let name: String
    private var descriptor: Int32
    private let ownsDescriptor: Bool
    private var offset: Int64 = 0

    /// Opens `path` for reading; `-` means standard input.
    public init(path: String) throws(FeedError) {
        if path == "-" {
            self.name = "stdin"
            self.descriptor = STDIN_FILENO
            self.ownsDescriptor = false
            return
        }
        self.name = path
        var fd: Int32
        repeat {
            fd = open(path, O_RDONLY | O_CLOEXEC)
        } while fd < 0 && errno == EINTR
        guard fd >= 0 else {
            throw FeedError(.io, source: path, reason: "cannot open: \(errnoDescription(errno))")
        }
        #if os(Linux)
        // The kernel doubles read-ahead for sequential access; feeds are read once, front to back.
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        #endif
        self.descriptor = fd
        self.ownsDescriptor = true
    }

    /// Reads from an already open descriptor; it is closed on deinit only if `closeOnDeinit`.
    public init(fileDescriptor: Int32, name: String, closeOnDeinit: Bool = false) {
        self.name = name
        self.descriptor = fileDescriptor
        self.ownsDescriptor = closeOnDeinit
    }

    deinit {
        if ownsDescriptor && descriptor >= 0 {
            _ = close(descriptor)
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(FeedError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let count = Glibc.read(descriptor, base, buffer.count)
            if count >= 0 {
                offset += Int64(count)
                return count
            }
            let code = errno
            if code == EINTR { continue }
            throw FeedError(.io, source: name, byteOffset: offset, reason: "read failed: \(errnoDescription(code))")
        }
    }
}
