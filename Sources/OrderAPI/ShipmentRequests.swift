import Feeds
import OrderModel
import OrderStore

/// The validated body of `POST /orders/{id}/shipments`. Whether the lines fit the order is
/// the repository's question (422), asked with the order locked; here only their form (400).
struct AddShipmentRequest: Sendable, Equatable {
    var shipment: NewShipment

    /// Most lines one shipment may name (an order has at most as many).
    static let maxLines = CreateOrderRequest.maxProducts
    /// The largest line number the database stores (`integer`).
    static let maxLineNo = Int(Int32.max)

    init(json: JSONValue) throws(APIProblem) {
        guard json.objectMembers != nil else { throw APIProblem.invalid(field: "", "the body must be a JSON object") }
        var errors: [APIProblem.FieldError] = []
        func fail(_ field: String, _ message: String) { errors.append(.init(field: field, message: message)) }

        let carrier = RequestField.identifier(json["carrier"], field: "carrier", required: true, fail)
        let number = RequestField.identifier(json["trackingNumber"], field: "trackingNumber", required: true, fail)
        var shippedAt: Timestamp?
        switch json["shippedAt"] {
        case nil, .null?: break
        case let .string(text)?:
            if let time = Timestamp(rfc3339: text), OrderRoutes.storable.contains(time) { shippedAt = time } else {
                fail("shippedAt", "shippedAt must be an RFC 3339 timestamp with a zone, e.g. 2026-11-01T08:30:00Z")
            }
        default: fail("shippedAt", "shippedAt must be a string (RFC 3339 timestamp) or null")
        }
        var lines: [ShipmentLine] = []
        switch json["lines"] {
        case nil, .null?: break
        case let .array(elements)?:
            if elements.count > Self.maxLines { fail("lines", "lines has \(elements.count) entries, at most \(Self.maxLines) allowed") }
            for (index, element) in elements.prefix(Self.maxLines).enumerated() {
                let path = "lines[\(index)]"
                guard element.objectMembers != nil else { fail(path, "\(path) must be an object"); continue }
                let lineNo = RequestField.integer(element["lineNo"], field: "\(path).lineNo", in: 1...Self.maxLineNo, fail)
                let quantity = RequestField.quantity(element["quantity"], field: "\(path).quantity", fail)
                if let lineNo, let quantity { lines.append(ShipmentLine(lineNo: lineNo, quantity: quantity)) }
            }
        default: fail("lines", "lines must be an array")
        }
        guard errors.isEmpty, let carrier, let number else { throw APIProblem.invalid(errors) }
        // Validated identifiers have a visible character, so normalizing cannot leave them blank.
        guard let shipment = NewShipment(carrier: carrier, trackingNumber: number, shippedAt: shippedAt, lines: lines) else {
            throw APIProblem.invalid(field: "trackingNumber", "carrier and trackingNumber must not be blank")
        }
        self.shipment = shipment
    }
}
