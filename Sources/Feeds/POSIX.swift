#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `strerror` text for an errno value, for error reasons a user can act on.
func errnoDescription(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}

/// Writes all of `bytes` to a file descriptor, retrying short writes and EINTR.
public func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, name: String) throws(FeedError) {
    guard var base = bytes.baseAddress else { return }
    var remaining = bytes.count
    while remaining > 0 {
        #if canImport(Darwin)
        let written = Darwin.write(descriptor, base, remaining)
        #elseif canImport(Musl)
        let written = Musl.write(descriptor, base, remaining)
        #else
        let written = Glibc.write(descriptor, base, remaining)
        #endif
        if written < 0 {
            let code = errno
            if code == EINTR { continue }
            throw FeedError(.io, source: name, reason: "write failed: \(errnoDescription(code))")
        }
        base += written
        remaining -= written
    }
}
