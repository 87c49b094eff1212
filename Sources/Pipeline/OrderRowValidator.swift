import Foundation
import OrderModel

/// A field's value as read from a record, before validation.
enum RawField {
    case absent
    case text(String)
    case invalidUTF8

    var text: String? {
        if case .text(let s) = self { return s }
        return nil
    }
}

/// One validated line item with its order's fields, in the shape the staging table takes.
struct OrderRow {
    var orderId: UUID?
    var externalRef: String?
    var action: String
    var customerId: String?
    var status: String?
    var currency: String?
    var createdAt: Timestamp?
    var trackingCompany: String?
    var trackingNumber: String?
    var productId: String?
    var quantity: Int?
    var unitPrice: Money?

    /// The order's key inside a run: its uuid, or `~` + external ref (a uuid never starts with `~`).
    var orderKey: String? {
        if let orderId { return orderId.uuidString.lowercased() }
        return externalRef.map { "~" + $0 }
    }
}

/// Turns raw fields into an `OrderRow` or the first problem found, with the shared `OrderRules`.
struct OrderRowValidator {
    let defaultCurrency: String?

    /// The order key alone, for rejected records (so the rest of their order is held back too).
    func orderKey(_ get: (String) -> RawField) -> String? {
        if let id = trimmed(get("order_id")), let uuid = UUID(uuidString: id) { return uuid.uuidString.lowercased() }
        if let ref = trimmed(get("external_ref")), OrderRules.checkIdentifier(ref, field: "external_ref") == nil { return "~" + ref }
        return nil
    }

    /// Validates the order-level fields (shared by every line of a record).
    func order(_ get: (String) -> RawField) -> Result<OrderRow, FieldProblem> {
        for field in PipelineDefinition.orderFields {
            if case .invalidUTF8 = get(field) {
                return .failure(FieldProblem(field: field, reason: .invalidUTF8, message: "\(field) is not valid UTF-8"))
            }
        }
        var row = OrderRow(action: "upsert")
        if let id = trimmed(get("order_id")) {
            guard let uuid = UUID(uuidString: id) else {
                return .failure(FieldProblem(field: "order_id", reason: .invalidValue("order_id"), message: "order_id \"\(id.prefix(60))\" is not a UUID"))
            }
            row.orderId = uuid
        }
        if let ref = trimmed(get("external_ref")) {
            if let p = OrderRules.checkIdentifier(ref, field: "external_ref") { return .failure(p) }
            row.externalRef = ref
        }
        if row.orderId == nil && row.externalRef == nil {
            return .failure(FieldProblem(field: "external_ref", reason: .missingField, message: "neither order_id nor external_ref is given: the order has no key"))
        }
        if let action = trimmed(get("action"))?.lowercased() {
            guard action == "upsert" || action == "delete" else {
                return .failure(FieldProblem(field: "action", reason: .invalidValue("action"), message: "action must be upsert or delete, got \"\(action.prefix(40))\""))
            }
            row.action = action
        }
        if row.action == "delete" { return .success(row) }

        guard let customer = trimmed(get("customer_id")) else {
            return .failure(FieldProblem(field: "customer_id", reason: .missingField, message: "customer_id is missing"))
        }
        if let p = OrderRules.checkIdentifier(customer, field: "customer_id") { return .failure(p) }
        row.customerId = customer
        if let status = trimmed(get("status")) {
            guard let s = OrderStatus(rawValue: status.lowercased()) else {
                return .failure(FieldProblem(field: "status", reason: .invalidValue("status"), message: "status \"\(status.prefix(40))\" is not one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            row.status = s.rawValue
        }
        if let currency = trimmed(get("currency"))?.uppercased() ?? defaultCurrency {
            if let p = OrderRules.checkCurrency(currency) { return .failure(p) }
            row.currency = currency
        }
        if let created = trimmed(get("created_at")) {
            guard let t = Timestamp(rfc3339: created) else {
                return .failure(FieldProblem(field: "created_at", reason: .invalidValue("created_at"), message: "created_at \"\(created.prefix(40))\" is not an RFC 3339 timestamp with a zone (e.g. 2026-10-01T12:00:00Z)"))
            }
            row.createdAt = t
        }
        if let company = trimmed(get("tracking_company")) {
            if let p = OrderRules.checkIdentifier(company, field: "tracking_company") { return .failure(p) }
            row.trackingCompany = company
        }
        if let number = trimmed(get("tracking_number")) {
            if let p = OrderRules.checkIdentifier(number, field: "tracking_number") { return .failure(p) }
            row.trackingNumber = number
        }
        return .success(row)
    }

    /// Validates one line item's fields into `row`.
    func line(_ row: inout OrderRow, _ get: (String) -> RawField) -> FieldProblem? {
        for field in PipelineDefinition.lineFields {
            if case .invalidUTF8 = get(field) {
                return FieldProblem(field: field, reason: .invalidUTF8, message: "\(field) is not valid UTF-8")
            }
        }
        guard let product = trimmed(get("product_id")) else {
            return FieldProblem(field: "product_id", reason: .missingField, message: "product_id is missing")
        }
        if let p = OrderRules.checkIdentifier(product, field: "product_id") { return p }
        guard let qtyText = trimmed(get("quantity")) else {
            return FieldProblem(field: "quantity", reason: .missingField, message: "quantity is missing")
        }
        guard let qty = Int(qtyText) else {
            return FieldProblem(field: "quantity", reason: .invalidValue("quantity"), message: "quantity \"\(qtyText.prefix(40))\" is not a whole number")
        }
        if let p = OrderRules.checkQuantity(qty) { return p }
        row.productId = product
        row.quantity = qty
        row.unitPrice = nil
        if let priceText = trimmed(get("unit_price")) {
            guard let price = Money(priceText) else {
                return FieldProblem(field: "unit_price", reason: .invalidValue("unit_price"), message: "unit_price \"\(priceText.prefix(40))\" is not a decimal amount (e.g. 19.99)")
            }
            if let p = OrderRules.checkUnitPrice(price) { return p }
            row.unitPrice = price
        }
        return nil
    }

    /// Text with surrounding spaces removed; empty means absent.
    private func trimmed(_ field: RawField) -> String? {
        guard case .text(let s) = field else { return nil }
        var slice = Substring(s)
        while slice.first == " " || slice.first == "\t" { slice.removeFirst() }
        while slice.last == " " || slice.last == "\t" { slice.removeLast() }
        return slice.isEmpty ? nil : String(slice)
    }
}
