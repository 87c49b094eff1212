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

/// Creates (or empties) a file; false when it cannot be created. Not `FileManager.createFile`:
/// on Linux that writes atomically through a directory it leaves behind in /tmp.
@discardableResult
public func createEmptyFile(atPath path: String, permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]) -> Bool {
    guard let fd = try? FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: permissions) else {
        return false
    }
    try? fd.close()
    return true
}
