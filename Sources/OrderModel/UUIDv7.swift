import Foundation

/// Time-ordered UUIDs (RFC 9562 version 7) for new orders.
///
/// Generated client-side so staged rows arrive in their final shape, and time-ordered so new
/// orders append to the primary-key index instead of scattering over it.
public struct UUIDv7Generator: Sendable {
    private var lastMillis: UInt64 = 0
    private var counter: UInt16 = 0
    private var rng = SystemRandomNumberGenerator()

    public init() {}

    /// The next id; monotonic within one generator even inside the same millisecond.
    public mutating func next(now: Date = Date()) -> UUID {
        var millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        if millis <= lastMillis {
            // Same (or earlier) millisecond: keep order with a 12-bit counter in rand_a.
            millis = lastMillis
            counter &+= 1
            if counter > 0x0FFF { millis += 1; counter = 0 }
        } else {
            counter = UInt16.random(in: 0...0x01FF, using: &rng)
        }
        lastMillis = millis
        let random = rng.next() as UInt64
        var b = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { b[i] = UInt8(truncatingIfNeeded: millis >> (40 - 8 * UInt64(i))) }
        b[6] = 0x70 | UInt8(counter >> 8)
        b[7] = UInt8(truncatingIfNeeded: counter)
        b[8] = 0x80 | UInt8(truncatingIfNeeded: random >> 56) & 0x3F
        for i in 9..<16 { b[i] = UInt8(truncatingIfNeeded: random >> (8 * UInt64(15 - i))) }
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
}
