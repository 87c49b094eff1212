import Feeds
import Foundation
import OrderModel

/// The validated body of `POST /orders`.
struct CreateOrderRequest: Sendable, Equatable {
    var customerId: String
    var externalRef: String?
    var currency: String?
    var items: [LineItem]

    /// Most lines one order may have.
    static let maxProducts = 1_000

    /// Checks every field and reports all offending ones at once, with JSON paths.
    init(json: JSONValue) throws(APIProblem) {
        guard let members = json.objectMembers else { throw APIProblem.invalid(field: "", "the body must be a JSON object") }
        _ = members
        var errors: [APIProblem.FieldError] = []
        func fail(_ field: String, _ message: String) { errors.append(.init(field: field, message: message)) }

        let customerId = RequestField.identifier(json["customerId"], field: "customerId", required: true, fail)
        let externalRef = RequestField.identifier(json["externalRef"], field: "externalRef", required: false, fail)
        var currency: String?
        switch json["currency"] {
        case nil, .null?: break
        case let .string(code)?:
            if let problem = OrderRules.checkCurrency(code) { fail("currency", problem.message) } else { currency = code }
        default: fail("currency", "currency must be a string (ISO 4217 code) or null")
        }
        var items: [LineItem] = []
        switch json["products"] {
        case nil, .null?: fail("products", "products is required")
        case let .array(elements)?:
            if elements.isEmpty { fail("products", "products must have at least one entry") }
            if elements.count > Self.maxProducts { fail("products", "products has \(elements.count) entries, at most \(Self.maxProducts) allowed") }
            for (index, element) in elements.prefix(Self.maxProducts).enumerated() {
                let path = "products[\(index)]"
                guard element.objectMembers != nil else { fail(path, "\(path) must be an object"); continue }
                let productId = RequestField.identifier(element["productId"], field: "\(path).productId", required: true, fail)
                let quantity = RequestField.quantity(element["quantity"], field: "\(path).quantity", fail)
                var price: Money?
                switch element["unitPrice"] {
                case nil, .null?: break
                case let .string(text)?:
                    if RequestField.isPrice(text), let money = Money(text) { price = money } else {
                        fail("\(path).unitPrice", "\(path).unitPrice must be a decimal string like \"19.90\" (up to 12 digits, 6 decimals)")
                    }
                default: fail("\(path).unitPrice", "\(path).unitPrice must be a decimal string or null (never a binary number)")
                }
                if let productId, let quantity { items.append(LineItem(productId: productId, quantity: quantity, unitPrice: price)) }
            }
        default: fail("products", "products must be an array")
        }
        guard errors.isEmpty, let customerId else { throw APIProblem.invalid(errors) }
        self.customerId = customerId
        self.externalRef = externalRef
        self.currency = currency
        self.items = items
    }

    /// The request in one canonical form, whatever its whitespace or member order: what an
    /// idempotency key is bound to.
    var canonical: String {
        var json = JSONWriter()
        json.beginObject()
        json.member("customerId", customerId)
        json.member("externalRef", externalRef)
        json.member("currency", currency)
        json.objects("products", items) { json, item in
            json.member("productId", item.productId)
            json.member("quantity", item.quantity)
            json.member("unitPrice", item.unitPrice?.description)
        }
        json.endObject()
        return json.text
    }
}

/// The body of `PATCH /orders/{id}/status`.
struct StatusChangeRequest: Sendable, Equatable {
    var status: OrderStatus

    init(json: JSONValue) throws(APIProblem) {
        guard json.objectMembers != nil else { throw APIProblem.invalid(field: "", "the body must be a JSON object") }
        switch json["status"] {
        case nil, .null?: throw APIProblem.invalid(field: "status", "status is required")
        case let .string(text)?:
            guard let status = OrderStatus(rawValue: text) else {
                throw APIProblem.invalid(field: "status", "status must be one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.status = status
        default: throw APIProblem.invalid(field: "status", "status must be a string")
        }
    }
}

/// The body of `PATCH /orders/{id}/shipping`; `null` clears a field.
struct ShippingChangeRequest: Sendable, Equatable {
    var trackingCompany: String?
    var trackingNumber: String?

    init(json: JSONValue) throws(APIProblem) {
        guard json.objectMembers != nil else { throw APIProblem.invalid(field: "", "the body must be a JSON object") }
        var errors: [APIProblem.FieldError] = []
        func fail(_ field: String, _ message: String) { errors.append(.init(field: field, message: message)) }
        for name in ["trackingCompany", "trackingNumber"] where json[name] == nil {
            fail(name, "\(name) is required (a string, or null to clear it)")
        }
        trackingCompany = RequestField.identifier(json["trackingCompany"], field: "trackingCompany", required: false, fail)
        trackingNumber = RequestField.identifier(json["trackingNumber"], field: "trackingNumber", required: false, fail)
        guard errors.isEmpty else { throw APIProblem.invalid(errors) }
    }
}

/// Field readers shared by the request types, applying OrderModel's rules.
enum RequestField {
    /// `^[0-9]{1,12}(\.[0-9]{1,6})?$`, the form the OpenAPI document gives for money.
    static func isPrice(_ text: String) -> Bool {
        let parts = Array(text.utf8).split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        func digits(_ part: ArraySlice<UInt8>) -> Bool { part.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        guard let whole = parts.first, (1...12).contains(whole.count), digits(whole) else { return false }
        return parts.count == 1 || ((1...6).contains(parts[1].count) && digits(parts[1]))
    }

    static func identifier(_ value: JSONValue?, field: String, required: Bool, _ fail: (String, String) -> Void) -> String? {
        switch value {
        case nil, .null?:
            if required { fail(field, "\(field) is required") }
            return nil
        case let .string(text)?:
            if let problem = OrderRules.checkIdentifier(text, field: field) {
                fail(field, problem.message)
                return nil
            }
            return text
        default:
            fail(field, "\(field) must be a string")
            return nil
        }
    }

    static func quantity(_ value: JSONValue?, field: String, _ fail: (String, String) -> Void) -> Int? {
        integer(value, field: field, in: 1...OrderRules.maxQuantity, fail)
    }

    /// A required integer within `range`.
    static func integer(_ value: JSONValue?, field: String, in range: ClosedRange<Int>, _ fail: (String, String) -> Void) -> Int? {
        guard case let .number(text)? = value else {
            fail(field, "\(field) is required and must be an integer")
            return nil
        }
        // JSON Schema counts 2.0 and 2e0 as integers too; anything with a fraction is not.
        let integral = Int(text) ?? Double(text).flatMap { $0.rounded() == $0 && abs($0) <= 1e15 ? Int($0) : nil }
        guard let number = integral, range.contains(number) else {
            fail(field, "\(field) must be an integer from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return number
    }
}
