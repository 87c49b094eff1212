import Feeds
import Foundation
import OrderModel
import Pipeline
import SyntheticFeeds
import Testing

/// An order as a feed describes it, in text, so CSV and NDJSON can be compared field by field.
private struct FeedOrder: Equatable, CustomStringConvertible {
    struct Item: Equatable {
        var productId: String
        var quantity: String
        var unitPrice: String
    }

    var externalRef = ""
    var customerId = ""
    var status = ""
    var currency = ""
    var createdAt = ""
    var trackingCompany = ""
    var trackingNumber = ""
    var items: [Item] = []

    var description: String { "\(externalRef) \(status) \(trackingCompany) \(trackingNumber) \(items.count) items" }
}

private let canonicalHeader = [
    "order_id", "external_ref", "action", "customer_id", "status", "currency", "created_at",
    "tracking_company", "tracking_number", "product_id", "quantity", "unit_price",
]
private let legacyHeader = ["OrderNo", "Cust", "State", "Curr", "OrderDate", "Carrier", "TrackingNo", "SKU", "Qty", "Price"]

private func parseCSV(_ bytes: [UInt8], legacy: Bool = false) throws -> [FeedOrder] {
    let reader = CSVReader(source: GzipDecoder(source: BufferByteSource(bytes: bytes, chunkSize: 4096, name: "feed.csv")))
    let header = try #require(try reader.next())
    #expect(header.strings == (legacy ? legacyHeader : canonicalHeader))
    let names = legacy ? ["OrderNo", "Cust", "State", "Curr", "OrderDate", "Carrier", "TrackingNo", "SKU", "Qty", "Price"]
        : ["external_ref", "customer_id", "status", "currency", "created_at", "tracking_company", "tracking_number", "product_id", "quantity", "unit_price"]
    let columns = CSVHeader(record: header)
    let at = try names.map { try #require(columns.index(of: $0)) }
    var orders: [FeedOrder] = []
    while let record = try reader.next() {
        #expect(record.count == header.count)
        if !legacy {
            #expect(record.string(at: 0).isEmpty && record.string(at: 2).isEmpty, "order_id and action stay empty")
        }
        let f = at.map { record.string(at: $0) }
        let order = FeedOrder(
            externalRef: f[0], customerId: f[1], status: f[2], currency: f[3], createdAt: f[4],
            trackingCompany: f[5], trackingNumber: f[6])
        let item = FeedOrder.Item(productId: f[7], quantity: f[8], unitPrice: f[9])
        if var last = orders.last, last.externalRef == order.externalRef {
            var levelOnly = last
            levelOnly.items = []
            #expect(levelOnly == order, "rows of one order repeat its order-level fields")
            last.items.append(item)
            orders[orders.count - 1] = last
        } else {
            var order = order
            order.items = [item]
            orders.append(order)
        }
    }
    return orders
}

private func parseNDJSON(_ bytes: [UInt8]) throws -> [FeedOrder] {
    let reader = NDJSONReader(source: GzipDecoder(source: BufferByteSource(bytes: bytes, chunkSize: 4096, name: "feed.ndjson")))
    var orders: [FeedOrder] = []
    while let line = try reader.next() {
        let object = try line.parse()
        let products = try #require(object["products"]?.arrayElements)
        orders.append(FeedOrder(
            externalRef: object["externalRef"]?.stringValue ?? "",
            customerId: object["customerId"]?.stringValue ?? "",
            status: object["status"]?.stringValue ?? "",
            currency: object["currency"]?.stringValue ?? "",
            createdAt: object["createdAt"]?.stringValue ?? "",
            trackingCompany: object["trackingCompany"]?.stringValue ?? "",
            trackingNumber: object["trackingNumber"]?.stringValue ?? "",
            items: products.map {
                FeedOrder.Item(
                    productId: $0["productId"]?.stringValue ?? "",
                    quantity: $0["quantity"]?.numberText ?? "",
                    unitPrice: $0["unitPrice"]?.numberText ?? "")
            }))
    }
    return orders
}

private func isDigits(_ text: Substring, count: Int) -> Bool {
    text.utf8.count == count && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
}

private func trackingLooksReal(company: String, number: String) -> Bool {
    let n = Substring(number)
    switch company {
    case "UPS": return n.count == 18 && n.hasPrefix("1Z") && n.dropFirst(2).allSatisfy { $0.isUppercase || $0.isNumber }
    case "FedEx": return isDigits(n, count: 12)
    case "USPS": return isDigits(n, count: 22) && n.hasPrefix("9400")
    case "DHL": return isDigits(n, count: 10)
    default: return false
    }
}

@Suite("OrderFeedGenerator")
struct OrderFeedGeneratorTests {
    @Test("the same orders and seed give the same bytes; another seed does not", arguments: OrderFeedGenerator.Format.allCases)
    func deterministic(format: OrderFeedGenerator.Format) throws {
        let generator = OrderFeedGenerator(orders: 300, seed: 7)
        #expect(try generator.bytes(format) == generator.bytes(format))
        #expect(try generator.bytes(format, gzip: true) == OrderFeedGenerator(orders: 300, seed: 7).bytes(format, gzip: true))
        #expect(try generator.bytes(format) != OrderFeedGenerator(orders: 300, seed: 8).bytes(format))
        let later = generator.laterSnapshot(.init(changeRate: 0.1, dropRate: 0.02, newOrders: 10))
        #expect(try later.bytes(format) == later.bytes(format))
    }

    @Test("a file on disk holds what the in-memory feed holds, gzip'd when asked")
    func writesFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let generator = OrderFeedGenerator(orders: 12_000, seed: 11)
        let csv = directory.appendingPathComponent("orders.csv.gz").path
        let summary = try generator.writeCSV(to: csv, gzip: true)
        let onDisk = try FileByteSource(path: csv).readAll()
        #expect(onDisk.starts(with: [0x1F, 0x8B]))
        #expect(Int64(onDisk.count) == summary.fileBytes)
        #expect(try GzipDecoder(source: BufferByteSource(bytes: onDisk)).readAll() == generator.bytes(.csv))
        #expect(summary.orders == 12_000 && summary.uncompressedBytes > 2 << 20, "spans several 1 MiB flushes")
        let ndjson = directory.appendingPathComponent("orders.ndjson").path
        try generator.writeNDJSON(to: ndjson, gzip: false)
        #expect(try FileByteSource(path: ndjson).readAll() == generator.bytes(.ndjson))
    }

    @Test("CSV, NDJSON and the legacy ERP CSV describe the same orders")
    func formatsAgree() throws {
        let generator = OrderFeedGenerator(orders: 1_000, seed: 42, prefix: "ERP", startRef: 100)
        let csv = try parseCSV(generator.bytes(.csv, gzip: true))
        let ndjson = try parseNDJSON(generator.bytes(.ndjson, gzip: true))
        let legacy = try parseCSV(generator.bytes(.legacyERPCSV), legacy: true)
        #expect(csv.count == 1_000)
        #expect(csv == ndjson)
        #expect(csv == legacy)
        #expect(csv.first?.externalRef == "ERP-000100")
        #expect(csv.last?.externalRef == "ERP-001099")
    }

    @Test("orders look real and pass the model's rules")
    func realistic() throws {
        let summaryOrders = 3_000
        let orders = try parseCSV(OrderFeedGenerator(orders: summaryOrders, seed: 3).bytes(.csv))
        #expect(Set(orders.map(\.externalRef)).count == summaryOrders)
        let items = orders.reduce(0) { $0 + $1.items.count }
        let mean = Double(items) / Double(orders.count)
        #expect(mean > 2.05 && mean < 2.35, "about 2.2 line items per order, got \(mean)")
        var statusCounts: [OrderStatus: Int] = [:]
        var trackingNumbers = Set<String>()
        let october = Timestamp(rfc3339: "2026-10-01T00:00:00Z")!...Timestamp(rfc3339: "2026-10-31T23:59:59.999Z")!
        for order in orders {
            let status = try #require(OrderStatus(rawValue: order.status), "\(order)")
            statusCounts[status, default: 0] += 1
            #expect((1...4).contains(order.items.count))
            #expect(OrderRules.checkCurrency(order.currency) == nil)
            #expect(OrderRules.checkIdentifier(order.customerId, field: "customer_id") == nil)
            #expect(order.customerId.hasPrefix("C-"))
            let created = try #require(Timestamp(rfc3339: order.createdAt), "\(order.createdAt)")
            #expect(october.contains(created))
            #expect(created.description == order.createdAt, "UTC with milliseconds")
            let tracked = status != .processing && status != .cancelled
            #expect(order.trackingCompany.isEmpty == !tracked, "\(order)")
            if tracked {
                #expect(trackingLooksReal(company: order.trackingCompany, number: order.trackingNumber), "\(order)")
                trackingNumbers.insert(order.trackingNumber)
            } else {
                #expect(order.trackingNumber.isEmpty)
            }
            #expect(Set(order.items.map(\.productId)).count == order.items.count, "no product twice in an order")
            for item in order.items {
                let quantity = try #require(Int(item.quantity))
                #expect(OrderRules.checkQuantity(quantity) == nil)
                let price = try #require(Money(item.unitPrice))
                #expect(price.scale == 2 && !price.isNegative && price > .zero)
            }
        }
        #expect(trackingNumbers.count == statusCounts.filter { $0.key != .processing && $0.key != .cancelled }.values.reduce(0, +))
        let common = (statusCounts[.processing] ?? 0) + (statusCounts[.shipped] ?? 0) + (statusCounts[.delivered] ?? 0)
        #expect(Double(common) / Double(orders.count) > 0.6, "mostly processing, shipped or delivered")
        #expect(OrderStatus.allCases.allSatisfy { statusCounts[$0, default: 0] > 0 }, "every status appears")
    }

    @Test("a later snapshot changes, drops and adds orders as configured", arguments: [OrderFeedGenerator.Format.csv, .ndjson])
    func laterSnapshot(format: OrderFeedGenerator.Format) throws {
        let base = OrderFeedGenerator(orders: 4_000, seed: 99)
        let later = base.laterSnapshot(.init(changeRate: 0.1, dropRate: 0.02, newOrders: 25))
        let parse = { (bytes: [UInt8]) throws -> [FeedOrder] in format == .csv ? try parseCSV(bytes) : try parseNDJSON(bytes) }
        let before = try parse(base.bytes(format))
        let after = try parse(later.bytes(format))
        let summary = try later.write(format, gzip: false) { _ in }

        let afterByRef = Dictionary(uniqueKeysWithValues: after.map { ($0.externalRef, $0) })
        let beforeRefs = Set(before.map(\.externalRef))
        var dropped = 0, changed = 0
        for old in before {
            guard let new = afterByRef[old.externalRef] else {
                dropped += 1
                continue
            }
            if new == old { continue }
            changed += 1
            #expect(new.customerId == old.customerId && new.currency == old.currency && new.createdAt == old.createdAt)
            let from = try #require(OrderStatus(rawValue: old.status))
            let to = try #require(OrderStatus(rawValue: new.status))
            if case .illegal = from.transition(to: to) {
                Issue.record("illegal transition \(from) → \(to) for \(old.externalRef)")
            }
            if to != .processing && to != .cancelled {
                #expect(trackingLooksReal(company: new.trackingCompany, number: new.trackingNumber), "\(new)")
            }
        }
        let added = after.filter { !beforeRefs.contains($0.externalRef) }
        #expect(dropped == summary.dropped && changed == summary.changed && added.count == summary.added)
        #expect((40...120).contains(dropped), "about 2% of 4000 dropped, got \(dropped)")
        #expect((320...480).contains(changed), "about 10% of 4000 changed, got \(changed)")
        #expect(added.map(\.externalRef) == (4_001...4_025).map { "ERP-\(String(format: "%06d", $0))" })
        #expect(added.allSatisfy { $0.createdAt.hasPrefix("2026-10-31T") })
        #expect(after.count == 4_000 - dropped + 25 && summary.orders == after.count)
        // Kept orders stay in the base feed's order, new ones follow.
        #expect(after.prefix(after.count - 25).map(\.externalRef) == before.map(\.externalRef).filter { afterByRef[$0] != nil })
    }

    @Test("a snapshot with nothing to change is the base feed")
    func emptyMutation() throws {
        let base = OrderFeedGenerator(orders: 500, seed: 5)
        #expect(try base.laterSnapshot(.init(changeRate: 0, dropRate: 0, newOrders: 0)).bytes(.csv) == base.bytes(.csv))
    }

    @Test("prefix validation")
    func prefixes() {
        #expect(OrderFeedGenerator.isValidPrefix("ERP"))
        #expect(OrderFeedGenerator.isValidPrefix("legacy_2-b"))
        #expect(!OrderFeedGenerator.isValidPrefix(""))
        #expect(!OrderFeedGenerator.isValidPrefix("a,b"))
        #expect(!OrderFeedGenerator.isValidPrefix("ü"))
    }
}
