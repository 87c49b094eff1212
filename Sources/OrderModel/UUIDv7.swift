import Foundation

/// Time-ordered UUIDs (RFC 9562 version 7) for new orders.
///
/// Generated client-side so staged rows arrive in their final shape, and time-ordered so new
/// orders append to the primary-key index instead of scattering over it.
public struct UUIDv7Generator: Sendable {
    private var lastMillis: UInt64 = 0
    private var counter: UInt16 = 0
    // The OS generator costs a system call per id; ids need uniqueness, not secrecy, so a fast
    // generator seeded once from the OS supplies the random bits.
    private var rng: SplitMix64

    public init() {
        var system = SystemRandomNumberGenerator()
        rng = SplitMix64(seed: system.next())
    }

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

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and deterministic; for UUID random bits and
/// synthetic data, never for secrets.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    /// An independent generator per (seed, stream, index), so any item can be rebuilt alone.
    public init(seed: UInt64, stream: UInt64, index: Int) {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        var second = SplitMix64(seed: mixer.next() ^ (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15))
        state = second.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
