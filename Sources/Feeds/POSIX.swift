@preconcurrency import Glibc
import SystemPackage

/// `strerror` text for an errno value, for error reasons a user can act on.
func errnoDescription(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}

/// Writes all of `bytes` to a file descriptor, retrying short writes and EINTR.
public func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, name: String) throws(FeedError) {
    do {
        _ = try FileDescriptor(rawValue: descriptor).writeAll(bytes)
    } catch let error as Errno {
        throw FeedError(.io, source: name, reason: "write failed: \(error.description)")
    } catch {
        throw FeedError(.io, source: name, reason: "write failed: \(error)")
    }
}
