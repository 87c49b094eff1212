import Foundation
import OrderModel

/// The canonical fields of an order feed, by position, so that looking one up in the hot loop
/// is an array index rather than hashing its name.
enum Field: Int, CaseIterable {
    case orderId, externalRef, action, customerId, status, currency, createdAt, trackingCompany, trackingNumber
    case productId, quantity, unitPrice

    /// The CSV (snake_case) name.
    var name: String { Self.names[rawValue] }
    private static let names = PipelineDefinition.orderFields + PipelineDefinition.lineFields

    static let orderLevel: [Field] = [.orderId, .externalRef, .action, .customerId, .status, .currency, .createdAt, .trackingCompany, .trackingNumber]
    static let lineLevel: [Field] = [.productId, .quantity, .unitPrice]
}

/// One validated line item with its order's fields, kept as the feed's bytes (trimmed and
/// checked) so the encoder can copy them into COPY text without building Strings.
struct OrderRow {
    var orderId: [UInt8]?          // lowercase, hyphenated
    var externalRef: ArraySlice<UInt8>?
    var isDelete = false
    var customerId: ArraySlice<UInt8>?
    var status: OrderStatus?
    var currency: [UInt8]?         // upper case
    var createdAt: [UInt8]?        // validated RFC 3339, normalized `T`/`Z`
    var trackingCompany: ArraySlice<UInt8>?
    var trackingNumber: ArraySlice<UInt8>?
    var productId: ArraySlice<UInt8>?
    var quantity: Int?
    var unitPrice: ArraySlice<UInt8>? // validated decimal text

    /// The order's key inside a run: its uuid, or `~` + external ref (a uuid never starts with `~`).
    var orderKey: [UInt8] {
        if let orderId { return orderId }
        return [UInt8(ascii: "~")] + (externalRef ?? [])
    }
}

/// Checks raw field bytes against the shared `OrderRules` and builds `OrderRow`s.
///
/// Works on bytes: the feed's values are checked in place and copied once, into the COPY buffer.
/// Strings are only made for error messages.
struct OrderRowValidator {
    let defaultCurrency: [UInt8]?
    /// Orders store the canonical carrier name, so tracking runs find them (`fedex` → `FedEx`).
    private let carriers = CarrierNames()

    init(defaultCurrency: String?) {
        self.defaultCurrency = defaultCurrency.map { Array($0.utf8) }
    }

    /// Reads a field: trimmed of spaces and tabs, `nil` when empty.
    typealias Get = (Field) -> ArraySlice<UInt8>?

    /// The order key alone, for rejected records (so the rest of their order is held back too).
    func orderKey(_ get: Get) -> [UInt8]? {
        if let id = get(.orderId), let uuid = Self.normalizedUUID(id) { return uuid }
        if let ref = get(.externalRef), Self.identifierProblem(ref, .externalRef) == nil { return [UInt8(ascii: "~")] + ref }
        return nil
    }

    /// Validates the order-level fields (shared by every line of a record).
    func order(_ get: Get) -> Result<OrderRow, FieldProblem> {
        for field in Field.orderLevel {
            if let v = get(field), !Self.isUTF8(v) {
                return .failure(FieldProblem(field: field.name, reason: .invalidUTF8, message: "\(field.name) is not valid UTF-8"))
            }
        }
        var row = OrderRow()
        if let id = get(.orderId) {
            guard let uuid = Self.normalizedUUID(id) else {
                return .failure(FieldProblem(field: "order_id", reason: .invalidValue("order_id"), message: "order_id \"\(Self.text(id))\" is not a UUID"))
            }
            row.orderId = uuid
        }
        if let ref = get(.externalRef) {
            if let p = Self.identifierProblem(ref, .externalRef) { return .failure(p) }
            row.externalRef = ref
        }
        if row.orderId == nil && row.externalRef == nil {
            return .failure(FieldProblem(field: "external_ref", reason: .missingField, message: "neither order_id nor external_ref is given: the order has no key"))
        }
        if let action = get(.action) {
            if Self.equalsIgnoringCase(action, "delete") {
                row.isDelete = true
            } else if !Self.equalsIgnoringCase(action, "upsert") {
                return .failure(FieldProblem(field: "action", reason: .invalidValue("action"), message: "action must be upsert or delete, got \"\(Self.text(action))\""))
            }
        }
        if row.isDelete { return .success(row) }

        guard let customer = get(.customerId) else {
            return .failure(FieldProblem(field: "customer_id", reason: .missingField, message: "customer_id is missing"))
        }
        if let p = Self.identifierProblem(customer, .customerId) { return .failure(p) }
        row.customerId = customer
        if let status = get(.status) {
            guard let s = Self.status(status) else {
                return .failure(FieldProblem(field: "status", reason: .invalidValue("status"), message: "status \"\(Self.text(status))\" is not one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            row.status = s
        }
        if let currency = get(.currency).map({ $0.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 } }) ?? defaultCurrency {
            let code = String(decoding: currency, as: UTF8.self)
            if let p = OrderRules.checkCurrency(code) { return .failure(p) }
            row.currency = currency
        }
        if let created = get(.createdAt) {
            var slice = created
            guard Timestamp(rfc3339Bytes: &slice) != nil else {
                return .failure(FieldProblem(field: "created_at", reason: .invalidValue("created_at"), message: "created_at \"\(Self.text(created))\" is not an RFC 3339 timestamp with a zone (e.g. 2026-10-01T12:00:00Z)"))
            }
            var normalized = Array(created)
            normalized[10] = UInt8(ascii: "T")
            if normalized.last == UInt8(ascii: "z") { normalized[normalized.count - 1] = UInt8(ascii: "Z") }
            row.createdAt = normalized
        }
        if let company = get(.trackingCompany) {
            if let p = Self.identifierProblem(company, .trackingCompany) { return .failure(p) }
            row.trackingCompany = company.contains(Self.bar) ? Self.joined(Self.parts(company).map { carriers.canonical($0) }) : carriers.canonical(company)
        }
        if let number = get(.trackingNumber) {
            if let p = Self.identifierProblem(number, .trackingNumber) { return .failure(p) }
            row.trackingNumber = number.contains(Self.bar)
                ? Self.joined(Self.parts(number).map(CarrierNameCache.normalizedTrackingNumber)) : CarrierNameCache.normalizedTrackingNumber(number)
        }
        if let p = Self.shipmentListProblem(company: row.trackingCompany, number: row.trackingNumber) { return .failure(p) }
        return .success(row)
    }

    /// Several shipments in one order row: `tracking_number` lists them separated by `|`, and
    /// `tracking_company` names one carrier for all or one per number (docs/feed-format.md).
    private static let bar = UInt8(ascii: "|")

    private static func parts(_ value: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        value.split(separator: bar, omittingEmptySubsequences: false).map { part in
            var p = part
            while let c = p.first, c == 0x20 || c == 0x09 { p.removeFirst() }
            while let c = p.last, c == 0x20 || c == 0x09 { p.removeLast() }
            return p
        }
    }

    private static func joined(_ parts: [ArraySlice<UInt8>]) -> ArraySlice<UInt8> {
        Array(parts.joined(separator: [bar]))[...]
    }

    private static func shipmentListProblem(company: ArraySlice<UInt8>?, number: ArraySlice<UInt8>?) -> FieldProblem? {
        guard let number else { return nil }
        // A shipment is a carrier and a number: a number alone could not be tracked.
        guard let company else {
            return FieldProblem(field: "tracking_company", reason: .missingField, message: "tracking_company is empty but tracking_number is given: name the carrier")
        }
        if !number.contains(bar) && !company.contains(bar) { return nil } // one shipment: the common case
        let numbers = parts(number), companies = parts(company)
        if numbers.contains(where: \.isEmpty) {
            return FieldProblem(field: "tracking_number", reason: .invalidValue("tracking_number"), message: "tracking_number lists an empty number between `|`")
        }
        if companies.contains(where: \.isEmpty) || (companies.count > 1 && companies.count != numbers.count) {
            return FieldProblem(field: "tracking_company", reason: .invalidValue("tracking_company"),
                                message: "tracking_company must name one carrier, or one per tracking number (\(numbers.count)), separated by `|`")
        }
        var seen = Set<[UInt8]>()
        for (i, number) in numbers.enumerated() {
            let carrier = companies.count > 1 ? companies[i] : companies[0]
            if !seen.insert(Array(carrier) + [0] + Array(number)).inserted {
                return FieldProblem(field: "tracking_number", reason: .invalidValue("tracking_number"),
                                    message: "tracking_number lists \(text(number)) twice")
            }
        }
        return nil
    }

    /// Validates one line item's fields into `row`.
    func line(_ row: inout OrderRow, _ get: Get) -> FieldProblem? {
        for field in Field.lineLevel {
            if let v = get(field), !Self.isUTF8(v) {
                return FieldProblem(field: field.name, reason: .invalidUTF8, message: "\(field.name) is not valid UTF-8")
            }
        }
        guard let product = get(.productId) else {
            return FieldProblem(field: "product_id", reason: .missingField, message: "product_id is missing")
        }
        if let p = Self.identifierProblem(product, .productId) { return p }
        guard let qtyBytes = get(.quantity) else {
            return FieldProblem(field: "quantity", reason: .missingField, message: "quantity is missing")
        }
        guard let qty = Self.integer(qtyBytes) else {
            return FieldProblem(field: "quantity", reason: .invalidValue("quantity"), message: "quantity \"\(Self.text(qtyBytes))\" is not a whole number")
        }
        if let p = OrderRules.checkQuantity(qty) { return p }
        row.productId = product
        row.quantity = qty
        row.unitPrice = nil
        if let priceBytes = get(.unitPrice) {
            var slice = priceBytes
            guard let price = Money(bytes: &slice) else {
                return FieldProblem(field: "unit_price", reason: .invalidValue("unit_price"), message: "unit_price \"\(Self.text(priceBytes))\" is not a decimal amount (e.g. 19.99)")
            }
            if let p = OrderRules.checkUnitPrice(price) { return p }
            row.unitPrice = priceBytes
        }
        return nil
    }

    // MARK: Byte-level checks

    static func identifierProblem(_ v: ArraySlice<UInt8>, _ field: Field) -> FieldProblem? {
        OrderRules.checkIdentifier(utf8: v, field: field.name)
    }

    static func isUTF8(_ v: ArraySlice<UInt8>) -> Bool {
        if !v.contains(where: { $0 >= 0x80 }) { return true }
        return String(validating: v, as: UTF8.self) != nil
    }

    /// A hyphenated UUID in any case, returned in lower case.
    static func normalizedUUID(_ v: ArraySlice<UInt8>) -> [UInt8]? {
        guard v.count == 36 else { return nil }
        var out = [UInt8](repeating: 0, count: 36)
        for (i, b) in v.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard b == 0x2D else { return nil }
                out[i] = b
            } else if (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) {
                out[i] = b
            } else if b >= 0x41 && b <= 0x46 {
                out[i] = b + 0x20
            } else {
                return nil
            }
        }
        return out
    }

    static func integer(_ v: ArraySlice<UInt8>) -> Int? {
        guard !v.isEmpty, v.count <= 18 else { return nil }
        var n = 0
        for b in v {
            guard b >= 0x30 && b <= 0x39 else { return nil }
            n = n * 10 + Int(b - 0x30)
        }
        return n
    }

    static let statusBytes: [(OrderStatus, [UInt8])] = OrderStatus.allCases.map { ($0, Array($0.rawValue.utf8)) }

    static func status(_ v: ArraySlice<UInt8>) -> OrderStatus? {
        statusBytes.first { equalsIgnoringCase(v, $0.1) }?.0
    }

    static func equalsIgnoringCase(_ v: ArraySlice<UInt8>, _ lower: String) -> Bool {
        equalsIgnoringCase(v, Array(lower.utf8))
    }

    static func equalsIgnoringCase(_ v: ArraySlice<UInt8>, _ lower: [UInt8]) -> Bool {
        guard v.count == lower.count else { return false }
        for (a, b) in zip(v, lower) where a != b && !(a >= 0x41 && a <= 0x5A && a + 0x20 == b) { return false }
        return true
    }

    /// A value for an error message: at most 60 bytes, invalid UTF-8 replaced.
    static func text(_ v: ArraySlice<UInt8>) -> String {
        String(decoding: v.prefix(60), as: UTF8.self)
    }

    /// Trims spaces and tabs; `nil` when nothing is left.
    static func trimmed(_ v: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        var s = v.startIndex, e = v.endIndex
        while s < e && (v[s] == 0x20 || v[s] == 0x09) { s += 1 }
        while e > s && (v[e - 1] == 0x20 || v[e - 1] == 0x09) { e -= 1 }
        return s == e ? nil : v[s..<e]
    }
}

/// A `CarrierNameCache` the non-mutating validator can use; one per reader thread.
final class CarrierNames {
    private var cache = CarrierNameCache()
    func canonical(_ raw: ArraySlice<UInt8>) -> ArraySlice<UInt8> { cache.canonical(raw) }
}
