import Crypto
import SystemPackage

/// SHA-256 through swift-crypto (BoringSSL on Linux), as the lowercase hex every report stores.
public enum ContentHash {
    /// The hex digest of `bytes`.
    public static func sha256Hex(_ bytes: some Sequence<UInt8>) -> String {
        hex(SHA256.hash(data: Array(bytes)))
    }

    /// The hex digest of a file's bytes, read in 1 MiB pieces (memory stays flat for any size).
    public static func sha256Hex(ofFile path: String) throws -> String {
        let fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        defer { try? fd.close() }
        return try sha256Hex { try fd.read(into: $0) }
    }

    /// The hex digest of a stream: `read` fills the buffer it is given and returns the byte
    /// count, 0 at the end (a file, a gzip decoder).
    public static func sha256Hex(reading read: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> String {
        var hasher = SHA256()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try read(buffer)
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hex(hasher.finalize())
    }

    /// Lowercase hex of a finished digest.
    public static func hex(_ digest: some Crypto.Digest) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
