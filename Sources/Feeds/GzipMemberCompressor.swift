import CLibDeflate

/// Compresses each buffer into one complete gzip member (RFC 1952 allows any number, and `zcat`,
/// `gzip -d` and our own reader read them as one stream). libdeflate compresses whole buffers with
/// about a third less CPU than zlib's streaming deflate at the same level, and smaller: that CPU
/// is what the export competes for with PostgreSQL on a two-core machine.
public final class GzipMemberCompressor {
    private let compressor: OpaquePointer
    private var output: UnsafeMutableRawBufferPointer

    /// A compressor at libdeflate `level` (1…12; 6 matches gzip's default).
    public init(level: Int32) throws(FeedError) {
        guard let c = libdeflate_alloc_compressor(level) else {
            throw FeedError(.zlibFailure, source: "<gzip>", reason: "libdeflate could not allocate a level \(level) compressor")
        }
        compressor = c
        output = .allocate(byteCount: 1 << 16, alignment: 16)
    }

    deinit {
        libdeflate_free_compressor(compressor)
        output.deallocate()
    }

    /// The gzip member for `input`; valid until the next call.
    public func compress(_ input: UnsafeRawBufferPointer) throws(FeedError) -> UnsafeRawBufferPointer {
        let bound = libdeflate_gzip_compress_bound(compressor, input.count)
        if output.count < bound {
            output.deallocate()
            output = .allocate(byteCount: bound, alignment: 16)
        }
        let n = libdeflate_gzip_compress(compressor, input.baseAddress, input.count, output.baseAddress, output.count)
        guard n > 0 else { throw FeedError(.zlibFailure, source: "<gzip>", reason: "libdeflate could not compress a \(input.count)-byte buffer") }
        return UnsafeRawBufferPointer(rebasing: output[0..<n])
    }
}
