import OrderModel
import PostgresClient

/// The first load of a source: orders that cannot exist yet, written in the final tables' shape.
///
/// When a source has no orders at all (a bulk migration's first run), an order keyed by
/// `external_ref` that appears in one group of adjacent rows, with no reject and no other group
/// of its key, can only be a create. Such groups skip staging and the diff: their order row goes
/// to `COPY orders` while the feed is read, their line items to `COPY order_items` after it.
/// Everything else (order ids, deletes, repeated keys, rejects) is staged and diffed as usual;
/// `OrderDiffSQL.firstLoadOverlap` then checks that no staged row names a key loaded here, and
/// the run falls back to staging everything if one does. See docs/pipeline.md "First load".
struct FirstLoadRows {
    /// `COPY orders` tuples (binary format), in `OrderDiffSQL.copyFirstLoadOrders`'s column order.
    var orders: [UInt8] = []
    /// `COPY order_items` tuples (binary format).
    var items: [UInt8] = []
    /// Orders, records (first rows of a feed record) and line items written so far.
    private(set) var orderCount = 0, recordCount = 0, lineCount = 0

    private let source: [UInt8]
    private let now: Int64
    private var bounds: [Int] = []

    /// `source` and `now` as the run's diff would write them.
    init(source: String, now: Timestamp) {
        self.source = Array(source.utf8)
        self.now = now.microseconds
        orders.reserveCapacity(1 << 20 + 4096)
        items.reserveCapacity(1 << 20 + 4096)
    }

    // Columns of a staging row as `StageRowEncoder` holds it before the group is finished
    // (`OrderDiffSQL.createLines` from `rec_first` on).
    private static let recFirst = 0, newId = 4, externalRef = 3, customerId = 6, status = 7, currency = 8,
                       createdAt = 9, trackingCompany = 10, trackingNumber = 11,
                       lineNo = 12, productId = 13, quantity = 14, unitPrice = 15
    private static let null = Array("\\N".utf8)[...], processing = Array("processing".utf8)[...]

    /// Writes one checked group (its staging rows in COPY text, `starts` the offset of each) as
    /// an order and its items in COPY binary: the validated text is converted, never re-checked.
    mutating func append(group rows: [UInt8], starts: [Int]) {
        typealias Binary = CopyBinaryFormat
        var orderId: ArraySlice<UInt8> = [][...]
        for (i, start) in starts.enumerated() {
            let end = i + 1 < starts.count ? starts[i + 1] : rows.count
            bounds.removeAll(keepingCapacity: true)
            bounds.append(start - 1)
            for j in start..<end where rows[j] == 0x09 || rows[j] == 0x0A { bounds.append(j) }
            let b = bounds
            func field(_ n: Int) -> ArraySlice<UInt8> { rows[(b[n] + 1)..<b[n + 1]] }
            func text(_ n: Int, into out: inout [UInt8]) {
                let value = field(n)
                if value == Self.null { Binary.appendNull(to: &out) } else { Binary.appendTextUnescaping(value, to: &out) }
            }
            if field(Self.recFirst).first == UInt8(ascii: "t") { recordCount += 1 }
            if i == 0 {
                orderId = field(Self.newId)
                orderCount += 1
                Binary.beginTuple(fields: 10, in: &orders)
                _ = Binary.appendUUID(hex: orderId, to: &orders)
                Binary.appendText(source[...], to: &orders)
                text(Self.externalRef, into: &orders)
                text(Self.customerId, into: &orders)
                let status = field(Self.status)
                Binary.appendText(status == Self.null ? Self.processing : status, to: &orders)
                text(Self.currency, into: &orders)
                text(Self.trackingCompany, into: &orders)
                text(Self.trackingNumber, into: &orders)
                var created = field(Self.createdAt)
                var createdAt = now
                if created != Self.null {
                    guard let t = Timestamp(rfc3339Bytes: &created) else { preconditionFailure("a validated created_at no longer parses") }
                    createdAt = t.microseconds
                }
                Binary.appendTimestamp(unixMicroseconds: createdAt, to: &orders)
                Binary.appendTimestamp(unixMicroseconds: now, to: &orders)
            }
            lineCount += 1
            Binary.beginTuple(fields: 5, in: &items)
            _ = Binary.appendUUID(hex: orderId, to: &items)
            Binary.appendInt32(Self.int32(field(Self.lineNo)), to: &items)
            text(Self.productId, into: &items)
            Binary.appendInt32(Self.int32(field(Self.quantity)), to: &items)
            var price = field(Self.unitPrice)
            if price == Self.null {
                Binary.appendNull(to: &items)
            } else {
                guard let money = Money(bytes: &price) else { preconditionFailure("a validated unit_price no longer parses") }
                Binary.appendNumeric(significand: money.significand, scale: Int(money.scale), to: &items)
            }
        }
    }

    /// A validated decimal integer.
    private static func int32(_ digits: ArraySlice<UInt8>) -> Int32 {
        var value: Int32 = 0
        for d in digits { value = value &* 10 &+ Int32(d &- 0x30) }
        return value
    }
}
