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
    /// `COPY orders` rows, in `OrderDiffSQL.copyFirstLoadOrders`'s column order.
    var orders: [UInt8] = []
    /// `COPY order_items` rows.
    var items: [UInt8] = []
    /// Orders, records (first rows of a feed record) and line items written so far.
    private(set) var orderCount = 0, recordCount = 0, lineCount = 0

    private let source: [UInt8]
    private let now: [UInt8]
    private var bounds: [Int] = []

    /// `source` and `now` as the run's diff would write them.
    init(source: String, now: String) {
        var escaped: [UInt8] = []
        CopyTextFormat.appendEscaped(Array(source.utf8)[...], to: &escaped)
        self.source = escaped
        self.now = Array(now.utf8)
        orders.reserveCapacity(1 << 20 + 4096)
        items.reserveCapacity(1 << 20 + 4096)
    }

    // Columns of a staging row as `StageRowEncoder` holds it before the group is finished
    // (`OrderDiffSQL.createLines` from `rec_first` on).
    private static let recFirst = 0, newId = 4, externalRef = 3, customerId = 6, status = 7, currency = 8,
                       createdAt = 9, trackingCompany = 10, trackingNumber = 11,
                       lineNo = 12, productId = 13, quantity = 14, unitPrice = 15
    private static let null = Array("\\N".utf8)[...], processing = Array("processing".utf8)[...]

    /// Writes one checked group (its staging rows, `starts` the offset of each) as an order and
    /// its items. The fields are already COPY text, so they are moved, never re-escaped.
    mutating func append(group rows: [UInt8], starts: [Int]) {
        var orderId: ArraySlice<UInt8> = [][...]
        for (i, start) in starts.enumerated() {
            let end = i + 1 < starts.count ? starts[i + 1] : rows.count
            let row = rows[start..<end]
            bounds.removeAll(keepingCapacity: true)
            bounds.append(start - 1)
            for j in row.indices where row[j] == 0x09 || row[j] == 0x0A { bounds.append(j) }
            func field(_ n: Int) -> ArraySlice<UInt8> { rows[(bounds[n] + 1)..<bounds[n + 1]] }
            if field(Self.recFirst).first == UInt8(ascii: "t") { recordCount += 1 }
            func put(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8], last: Bool = false) {
                out.append(contentsOf: bytes)
                out.append(last ? 0x0A : 0x09)
            }
            if i == 0 {
                orderId = field(Self.newId)
                orderCount += 1
                let status = field(Self.status), created = field(Self.createdAt)
                put(orderId, into: &orders); put(source[...], into: &orders)
                put(field(Self.externalRef), into: &orders); put(field(Self.customerId), into: &orders)
                put(status == Self.null ? Self.processing : status, into: &orders)
                put(field(Self.currency), into: &orders)
                put(field(Self.trackingCompany), into: &orders); put(field(Self.trackingNumber), into: &orders)
                put(created == Self.null ? now[...] : created, into: &orders)
                put(now[...], into: &orders, last: true)
            }
            lineCount += 1
            put(orderId, into: &items); put(field(Self.lineNo), into: &items); put(field(Self.productId), into: &items)
            put(field(Self.quantity), into: &items); put(field(Self.unitPrice), into: &items, last: true)
        }
    }
}
