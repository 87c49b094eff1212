@preconcurrency import Glibc
import Feeds
import OrderModel

/// Writes synthetic, deterministic order feeds (canonical CSV, NDJSON, or a legacy ERP's CSV) for
/// demos, tests and benchmarks; the same `orders` and `seed` always give the same orders.
///
/// Every order is derived from `(seed, index)` alone, so a later snapshot can re-derive the base
/// order and change, drop or append orders without keeping anything in memory.
public struct OrderFeedGenerator: Sendable {
    /// The file layouts the generator writes.
    public enum Format: String, Sendable, CaseIterable {
        /// The canonical CSV: snake_case header, one row per line item.
        case csv
        /// The canonical NDJSON: camelCase, one order per line.
        case ndjson
        /// A legacy ERP's CSV (`OrderNo,Cust,State,…`), one row per line item.
        case legacyERPCSV = "legacy-erp-csv"
    }

    /// How a later snapshot differs from the base feed of the same seed.
    public struct Mutation: Sendable, Hashable {
        /// Share of base orders that change (status forward, tracking, or a line item).
        public var changeRate: Double
        /// Share of base orders left out, so that a mirror run deletes them.
        public var dropRate: Double
        /// Orders appended after the base ones, with the next external refs.
        public var newOrders: Int

        /// Creates a mutation; the rates are fractions of the base orders (0…1, summing to ≤ 1).
        public init(changeRate: Double = 0.1, dropRate: Double = 0.02, newOrders: Int = 10) {
            precondition(changeRate >= 0 && dropRate >= 0 && changeRate + dropRate <= 1, "rates must be fractions summing to at most 1")
            precondition(newOrders >= 0, "newOrders must not be negative")
            self.changeRate = changeRate
            self.dropRate = dropRate
            self.newOrders = newOrders
        }
    }

    /// What a write produced.
    public struct Summary: Sendable, Hashable {
        /// Orders written (base orders kept plus new ones).
        public var orders = 0
        /// Line items written (CSV rows without the header).
        public var lineItems = 0
        /// Base orders that differ from the base feed.
        public var changed = 0
        /// Base orders left out.
        public var dropped = 0
        /// Orders appended by the mutation.
        public var added = 0
        /// Feed bytes before compression.
        public var uncompressedBytes: Int64 = 0
        /// Bytes written to the file.
        public var fileBytes: Int64 = 0
    }

    /// Number of base orders.
    public let orders: Int
    /// The seed every order is derived from.
    public let seed: UInt64
    /// External refs are `<prefix>-<number>`, e.g. `ERP-000123`.
    public let prefix: String
    /// The number of the first base order's external ref.
    public let startRef: Int
    /// When set, the feed is a later snapshot of the base feed.
    public var mutation: Mutation?
    /// zlib level for gzip output: 1 is several times faster, 6 about 10% smaller.
    public var gzipLevel: Int32 = 6

    /// Creates a generator of `orders` base orders.
    public init(orders: Int, seed: UInt64, prefix: String = "ERP", startRef: Int = 1) {
        precondition(orders >= 0, "orders must not be negative")
        precondition(startRef >= 0, "startRef must not be negative")
        precondition(Self.isValidPrefix(prefix), "prefix must be 1-32 ASCII letters, digits, '_' or '-'")
        self.orders = orders
        self.seed = seed
        self.prefix = prefix
        self.startRef = startRef
    }

    /// Whether `prefix` can be written unquoted and unescaped in every format.
    public static func isValidPrefix(_ prefix: String) -> Bool {
        (1...32).contains(prefix.utf8.count) && prefix.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F
        }
    }

    /// This generator with `mutation` set: the later snapshot of the same base orders.
    public func laterSnapshot(_ mutation: Mutation) -> OrderFeedGenerator {
        var copy = self
        copy.mutation = mutation
        return copy
    }

    /// Writes the canonical CSV to `path`, gzip'd when `gzip`.
    @discardableResult
    public func writeCSV(to path: String, gzip: Bool) throws -> Summary {
        try write(.csv, to: path, gzip: gzip)
    }

    /// Writes the canonical NDJSON to `path`, gzip'd when `gzip`.
    @discardableResult
    public func writeNDJSON(to path: String, gzip: Bool) throws -> Summary {
        try write(.ndjson, to: path, gzip: gzip)
    }

    /// Writes `format` to `path` (`-` is standard output), gzip'd when `gzip`.
    @discardableResult
    public func write(_ format: Format, to path: String, gzip: Bool) throws -> Summary {
        let descriptor: Int32
        if path == "-" {
            descriptor = STDOUT_FILENO
        } else {
            var fd: Int32
            repeat {
                fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            } while fd < 0 && errno == EINTR
            guard fd >= 0 else {
                throw FeedError(.io, source: path, reason: "cannot create: \(String(cString: strerror(errno)))")
            }
            descriptor = fd
        }
        defer { if descriptor != STDOUT_FILENO { _ = close(descriptor) } }
        var fileBytes: Int64 = 0
        var summary = try write(format, gzip: gzip) { bytes in
            try writeAll(descriptor, bytes, name: path)
            fileBytes += Int64(bytes.count)
        }
        summary.fileBytes = fileBytes
        return summary
    }

    /// The whole feed in memory; for tests and small feeds.
    public func bytes(_ format: Format, gzip: Bool = false) throws -> [UInt8] {
        var result: [UInt8] = []
        try write(format, gzip: gzip) { result.append(contentsOf: $0) }
        return result
    }

    /// Writes `format` to `sink` in chunks of about 1 MiB (compressed first when `gzip`).
    @discardableResult
    public func write(_ format: Format, gzip: Bool, to sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws -> Summary {
        let gzipWriter: GzipWriter? = if gzip {
            try GzipWriter(level: gzipLevel, name: "generated feed", outputChunkSize: 1 << 20, sink: sink)
        } else {
            nil
        }
        let output = OutputBuffer(seed: seed) { chunk in
            if let gzipWriter { try gzipWriter.write(chunk) } else { try sink(chunk) }
        }
        var summary = Summary()
        let refPrefix = Array(prefix.utf8) + [UInt8(ascii: "-")]
        switch format {
        case .csv:
            output.append("order_id,external_ref,action,customer_id,status,currency,created_at,tracking_company,tracking_number,product_id,quantity,unit_price\n")
        case .legacyERPCSV:
            output.append("OrderNo,Cust,State,Curr,OrderDate,Carrier,TrackingNo,SKU,Qty,Price\n")
        case .ndjson:
            break
        }
        var lineItems = 0
        try forEachOrder(summary: &summary) { order in
            switch format {
            case .csv: try output.writeCSV(order, refPrefix: refPrefix, canonical: true)
            case .legacyERPCSV: try output.writeCSV(order, refPrefix: refPrefix, canonical: false)
            case .ndjson: try output.writeNDJSON(order, refPrefix: refPrefix)
            }
            lineItems += order.items.count
        }
        summary.lineItems = lineItems
        try output.flush()
        summary.uncompressedBytes = output.written
        try gzipWriter?.finish()
        return summary
    }

    /// Calls `body` with every order of the feed, in feed order; the order is reused between calls.
    func forEachOrder(summary: inout Summary, _ body: (GeneratedOrder) throws -> Void) throws {
        var order = GeneratedOrder()
        let customers = max(50, orders / 3)
        for index in 0..<orders {
            makeOrder(&order, index: index, customers: customers, isNew: false)
            if let mutation {
                var random = SplitMix64(seed: seed, stream: 2, index: index)
                let draw = random.unit()
                if draw < mutation.dropRate {
                    summary.dropped += 1
                    continue
                }
                if draw < mutation.dropRate + mutation.changeRate {
                    mutate(&order, random: &random)
                    summary.changed += 1
                }
            }
            summary.orders += 1
            try body(order)
        }
        for index in orders..<(orders + (mutation?.newOrders ?? 0)) {
            makeOrder(&order, index: index, customers: customers, isNew: true)
            summary.orders += 1
            summary.added += 1
            try body(order)
        }
    }

    // MARK: - Orders

    // Base orders fill the first 30 days of October 2026 in ref order; new orders the 31st.
    static let dayMillis: Int64 = 86_400_000

    func makeOrder(_ order: inout GeneratedOrder, index: Int, customers: Int, isNew: Bool) {
        var random = SplitMix64(seed: seed, stream: 1, index: index)
        order.index = index
        order.ref = startRef + index
        // Squaring skews toward low numbers: a few customers order often, most rarely.
        let u = random.unit()
        order.customer = 1 + min(customers - 1, Int(u * u * Double(customers)))
        if isNew {
            order.createdMillis = 30 * Self.dayMillis + Int64(random.below(Int(Self.dayMillis)))
            order.status = random.below(100) < 85 ? .processing : .shipped
        } else {
            let span = 30 * Self.dayMillis
            let slot = span / Int64(max(orders, 1))
            order.createdMillis = min(span - 1, Int64(index) * slot + Int64(random.below(Int(max(slot, 1)))))
            order.status = Self.pick(Self.statusWeights, &random)
        }
        order.currency = Self.pick(Self.currencyWeights, &random)
        order.carrier = Self.pick(Self.carrierWeights, &random)
        order.trackingVersion = 0
        order.hasTracking = Self.carriesTracking(order.status)
        order.items.removeAll(keepingCapacity: true)
        let count = Self.pick(Self.itemCountWeights, &random)
        while order.items.count < count {
            let product = random.below(Self.catalogSize)
            if order.items.contains(where: { $0.product == product }) { continue }
            order.items.append(GeneratedLine(product: product, quantity: Self.pick(Self.quantityWeights, &random), priceCents: price(of: product)))
        }
    }

    /// One change a later snapshot would plausibly show; always a real difference.
    func mutate(_ order: inout GeneratedOrder, random: inout SplitMix64) {
        let kind = random.below(100)
        if kind < 55, let next = nextStatus(after: order.status, random: &random) {
            if Self.carriesTracking(next) { order.hasTracking = true }
            order.status = next
        } else if kind < 75 && order.status == .processing {
            order.status = .shipped
            order.hasTracking = true
        } else if kind < 75 && order.hasTracking {
            // Relabelled: a new tracking number, sometimes with another carrier.
            order.trackingVersion += 1
            if random.below(4) == 0 { order.carrier = (order.carrier + 1 + random.below(Self.carriers.count - 1)) % Self.carriers.count }
        } else {
            changeItems(&order, random: &random)
        }
    }

    func changeItems(_ order: inout GeneratedOrder, random: inout SplitMix64) {
        let which = random.below(order.items.count)
        switch random.below(4) {
        case 0:
            order.items[which].quantity += 1 + random.below(2)
        case 1:
            // A discount or a correction of the price on one line.
            let cents = order.items[which].priceCents
            order.items[which].priceCents = cents > 100 ? cents - 1 - Int64(random.below(Int(cents / 5))) : cents + 100
        case 2 where order.items.count > 1:
            order.items.remove(at: which)
        default:
            var product = random.below(Self.catalogSize)
            while order.items.contains(where: { $0.product == product }) { product = (product + 1) % Self.catalogSize }
            order.items.append(GeneratedLine(product: product, quantity: 1, priceCents: price(of: product)))
        }
    }

    /// A forward move that carriers commonly report, always one `OrderStatus.allowedNext` permits.
    func nextStatus(after status: OrderStatus, random: inout SplitMix64) -> OrderStatus? {
        let preferred: [(OrderStatus, Int)]
        switch status {
        case .processing: preferred = [(.shipped, 70), (.inTransit, 15), (.cancelled, 10), (.delivered, 5)]
        case .shipped: preferred = [(.inTransit, 70), (.delivered, 20), (.exception, 5), (.cancelled, 5)]
        case .inTransit: preferred = [(.outForDelivery, 40), (.delivered, 45), (.exception, 5), (.failedAttempt, 5), (.availableForPickup, 5)]
        case .outForDelivery: preferred = [(.delivered, 85), (.failedAttempt, 10), (.availableForPickup, 5)]
        case .failedAttempt, .availableForPickup: preferred = [(.delivered, 70), (.outForDelivery, 20), (.returned, 10)]
        case .exception: preferred = [(.inTransit, 50), (.delivered, 30), (.returned, 20)]
        case .delivered: preferred = [(.returned, 100)]
        case .returned, .cancelled: preferred = []
        }
        let legal = preferred.filter { status.allowedNext.contains($0.0) }
        guard !legal.isEmpty else { return nil }
        return Self.pick(legal, &random)
    }

    /// Prices belong to products, so the same SKU costs the same in every order.
    func price(of product: Int) -> Int64 {
        var random = SplitMix64(seed: seed, stream: 3, index: product)
        let tier = random.below(100)
        let dollars = tier < 60 ? 2 + random.below(28) : tier < 90 ? 30 + random.below(120) : 150 + random.below(750)
        let ending = random.below(100)
        let cents = ending < 50 ? 99 : ending < 65 ? 49 : ending < 80 ? 0 : random.below(100)
        return Int64(dollars * 100 + cents)
    }

    static func carriesTracking(_ status: OrderStatus) -> Bool {
        status != .processing && status != .cancelled
    }

    static let catalogSize = 2_500
    static let statusWeights: [(OrderStatus, Int)] = [
        (.processing, 30), (.shipped, 18), (.inTransit, 12), (.outForDelivery, 3), (.availableForPickup, 2),
        (.failedAttempt, 2), (.exception, 2), (.delivered, 26), (.returned, 2), (.cancelled, 3),
    ]
    static let currencies = ["USD", "EUR", "GBP", "CAD", "AUD"]
    static let currencyWeights: [(Int, Int)] = [(0, 70), (1, 15), (2, 8), (3, 5), (4, 2)]
    static let carriers = ["UPS", "FedEx", "USPS", "DHL"]
    static let carrierWeights: [(Int, Int)] = [(0, 35), (1, 30), (2, 25), (3, 10)]
    // Mean 2.2 line items per order.
    static let itemCountWeights: [(Int, Int)] = [(1, 30), (2, 30), (3, 30), (4, 10)]
    static let quantityWeights: [(Int, Int)] = [(1, 60), (2, 25), (3, 8), (4, 4), (5, 2), (10, 1)]

    static func pick<T>(_ weighted: [(T, Int)], _ random: inout SplitMix64) -> T {
        var total = 0
        for entry in weighted { total += entry.1 }
        var draw = random.below(total)
        for entry in weighted {
            if draw < entry.1 { return entry.0 }
            draw -= entry.1
        }
        return weighted[weighted.count - 1].0
    }
}
