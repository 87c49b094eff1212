/// The input window the CSV and NDJSON readers parse in place: bytes before the unfinished
/// record are dropped by moving the rest to the front, and the buffer grows only when a record
/// is longer than what is left, so memory stays bounded by the longest record.
enum SlidingBuffer {
    /// Drops the `keep` bytes at the front (the caller shifts its own indices by `keep`), grows
    /// the buffer when less than a quarter chunk is free, and returns the space to read into.
    @inline(__always)
    static func prepare(_ buffer: inout UnsafeMutablePointer<UInt8>, capacity: inout Int, end: inout Int,
                        discarded: inout Int64, dropping keep: Int, readChunkSize: Int) -> UnsafeMutableRawBufferPointer {
        if keep > 0 {
            let count = end - keep
            if count > 0 {
                buffer.update(from: buffer + keep, count: count)
            }
            discarded += Int64(keep)
            end -= keep
        }
        if capacity - end < max(readChunkSize / 4, 1) {
            let newCapacity = max(capacity * 2, end + readChunkSize)
            let newBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            newBuffer.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = newBuffer
            capacity = newCapacity
        }
        return UnsafeMutableRawBufferPointer(start: buffer + end, count: min(capacity - end, readChunkSize))
    }
}
