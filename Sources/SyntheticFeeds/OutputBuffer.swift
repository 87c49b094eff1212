@preconcurrency import Glibc
import Feeds
import OrderModel

/// A fixed 1 MiB staging area for the generator's output: bytes are stored with pointer writes
/// and handed on whenever a megabyte is full, so memory stays flat whatever the feed size.
final class OutputBuffer {
    static let flushThreshold = 1 << 20
    // Room for the longest record: every line is checked against this before it is written.
    static let lineReserve = 8 << 10

    private let base: UnsafeMutablePointer<UInt8>
    private var count = 0
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    private(set) var written: Int64 = 0
    // The generator's seed, which tracking numbers are derived from.
    private let seed: UInt64
    private let trackingOffset: Int

    init(seed: UInt64, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.seed = seed
        var random = SplitMix64(seed: seed, stream: 5, index: 0)
        self.trackingOffset = random.below(1_000_000_000)
        self.sink = sink
        base = .allocate(capacity: Self.flushThreshold + Self.lineReserve)
    }

    deinit { base.deallocate() }

    func flush() throws {
        guard count > 0 else { return }
        try sink(UnsafeRawBufferPointer(start: base, count: count))
        written += Int64(count)
        count = 0
    }

    @inline(__always)
    private func endLine() throws {
        if count >= Self.flushThreshold { try flush() }
    }

    @inline(__always)
    func byte(_ value: UInt8) {
        base[count] = value
        count += 1
    }

    func append(_ text: StaticString) {
        text.withUTF8Buffer { append($0) }
    }

    @inline(__always)
    func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        (base + count).update(from: bytes.baseAddress!, count: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    /// Decimal digits of a non-negative `value`, zero-padded to `width`.
    @inline(__always)
    func decimal(_ value: Int, width: Int = 1) {
        var digits = 1
        var limit = 10
        while value >= limit && digits < 19 {
            digits += 1
            limit &*= 10
        }
        digits = max(digits, width)
        var rest = value
        var at = count + digits - 1
        while at >= count {
            base[at] = UInt8(truncatingIfNeeded: 0x30 + rest % 10)
            rest /= 10
            at -= 1
        }
        count += digits
    }

    // MARK: Fields

    func externalRef(_ order: GeneratedOrder, _ refPrefix: [UInt8]) {
        append(refPrefix)
        decimal(order.ref, width: 6)
    }

    func customer(_ order: GeneratedOrder) {
        append("C-")
        decimal(order.customer, width: 4)
    }

    func status(_ order: GeneratedOrder) {
        append(statusNames[statusIndex(order.status)])
    }

    // Indexed by `statusIndex`, which avoids a String per order.
    private let statusNames: [[UInt8]] = [
        OrderStatus.processing, .shipped, .inTransit, .outForDelivery, .availableForPickup,
        .failedAttempt, .exception, .delivered, .returned, .cancelled,
    ].map { Array($0.rawValue.utf8) }
    private let currencyNames: [[UInt8]] = OrderFeedGenerator.currencies.map { Array($0.utf8) }
    private let carrierNames: [[UInt8]] = OrderFeedGenerator.carriers.map { Array($0.utf8) }

    private func statusIndex(_ status: OrderStatus) -> Int {
        switch status {
        case .processing: 0
        case .shipped: 1
        case .inTransit: 2
        case .outForDelivery: 3
        case .availableForPickup: 4
        case .failedAttempt: 5
        case .exception: 6
        case .delivered: 7
        case .returned: 8
        case .cancelled: 9
        }
    }

    func currency(_ order: GeneratedOrder) {
        append(currencyNames[order.currency])
    }

    /// `2026-10-03T14:05:09.123Z`: always October 2026, so only day and time vary.
    func createdAt(_ order: GeneratedOrder) {
        let millis = Int(order.createdMillis)
        append("2026-10-")
        decimal(1 + millis / 86_400_000, width: 2)
        byte(UInt8(ascii: "T"))
        let ofDay = millis % 86_400_000
        decimal(ofDay / 3_600_000, width: 2)
        byte(UInt8(ascii: ":"))
        decimal(ofDay / 60_000 % 60, width: 2)
        byte(UInt8(ascii: ":"))
        decimal(ofDay / 1000 % 60, width: 2)
        byte(UInt8(ascii: "."))
        decimal(ofDay % 1000, width: 3)
        byte(UInt8(ascii: "Z"))
    }

    func carrier(_ order: GeneratedOrder) {
        append(carrierNames[order.carrier])
    }

    /// A number shaped like the carrier's own, unique per (order, version) within a feed: a
    /// bijective scramble of the order index fills the last nine digits.
    func trackingNumber(_ order: GeneratedOrder) {
        var random = SplitMix64(seed: seed, stream: 4, index: order.index &* 16 &+ order.trackingVersion)
        // An affine map with a multiplier coprime to 10 is a bijection modulo 10^9.
        let serial = (order.index &* 16 &+ order.trackingVersion) % 1_000_000_000
        let unique = (serial &* 738_219_137 &+ trackingOffset) % 1_000_000_000
        switch OrderFeedGenerator.carriers[order.carrier] {
        case "UPS":
            append("1Z")
            let alphabet: StaticString = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
            alphabet.withUTF8Buffer { letters in
                for _ in 0..<5 { byte(letters[random.below(letters.count)]) }
            }
            // Service codes: 01 next day air, 02 second day air, 03 ground (most parcels).
            switch random.below(10) {
            case 0: append("01")
            case 1: append("02")
            default: append("03")
            }
        case "FedEx":
            decimal(100 + random.below(900), width: 3)
        case "USPS":
            append("9400")
            decimal(random.below(1_000_000_000), width: 9)
        default:
            decimal(1 + random.below(9))
        }
        decimal(unique, width: 9)
    }

    func unitPrice(_ item: GeneratedLine) {
        decimal(Int(item.priceCents / 100))
        byte(UInt8(ascii: "."))
        decimal(Int(item.priceCents % 100), width: 2)
    }

    func productId(_ item: GeneratedLine) {
        append("SKU-")
        decimal(10_001 + item.product, width: 5)
    }

    // MARK: Records

    // Order-level fields are rendered once per order into `prefix` and copied per line item.
    private var prefix: [UInt8] = []

    func writeCSV(_ order: GeneratedOrder, refPrefix: [UInt8], canonical: Bool) throws {
        let start = count
        if canonical { byte(UInt8(ascii: ",")) }
        externalRef(order, refPrefix)
        if canonical { byte(UInt8(ascii: ",")) }
        byte(UInt8(ascii: ","))
        customer(order)
        byte(UInt8(ascii: ","))
        status(order)
        byte(UInt8(ascii: ","))
        currency(order)
        byte(UInt8(ascii: ","))
        createdAt(order)
        byte(UInt8(ascii: ","))
        if order.hasTracking { carrier(order) }
        byte(UInt8(ascii: ","))
        if order.hasTracking { trackingNumber(order) }
        byte(UInt8(ascii: ","))
        prefix.removeAll(keepingCapacity: true)
        prefix.append(contentsOf: UnsafeBufferPointer(start: base + start, count: count - start))
        for (position, item) in order.items.enumerated() {
            if position > 0 { append(prefix) }
            productId(item)
            byte(UInt8(ascii: ","))
            decimal(item.quantity)
            byte(UInt8(ascii: ","))
            unitPrice(item)
            byte(UInt8(ascii: "\n"))
            try endLine()
        }
    }

    func writeNDJSON(_ order: GeneratedOrder, refPrefix: [UInt8]) throws {
        append("{\"externalRef\":\"")
        externalRef(order, refPrefix)
        append("\",\"customerId\":\"")
        customer(order)
        append("\",\"status\":\"")
        status(order)
        append("\",\"currency\":\"")
        currency(order)
        append("\",\"createdAt\":\"")
        createdAt(order)
        if order.hasTracking {
            append("\",\"trackingCompany\":\"")
            carrier(order)
            append("\",\"trackingNumber\":\"")
            trackingNumber(order)
        }
        append("\",\"products\":[")
        for (position, item) in order.items.enumerated() {
            append(position == 0 ? "{\"productId\":\"" : ",{\"productId\":\"")
            productId(item)
            append("\",\"quantity\":")
            decimal(item.quantity)
            append(",\"unitPrice\":")
            unitPrice(item)
            byte(UInt8(ascii: "}"))
        }
        append("]}\n")
        try endLine()
    }
}


extension SplitMix64 {
    /// Uniform in `0..<bound` (Lemire's multiply-high; the bias is negligible for our bounds).
    mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform in `[0, 1)`.
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}
