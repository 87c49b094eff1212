import OrderModel
import OrderStore

/// A shipment as the API shows it (the shipments spec), every member present, `null` when
/// unknown, timestamps like the order's.
enum ShipmentJSON {
    static func write(_ shipment: Shipment, into json: inout JSONWriter) {
        json.beginObject()
        json.member("id", Int(shipment.id))
        // '' is how the database keeps an unknown carrier; the order shows it as null too.
        json.member("carrier", shipment.carrier.isEmpty ? nil : shipment.carrier)
        json.member("trackingNumber", shipment.trackingNumber)
        json.member("status", shipment.status?.rawValue)
        json.member("statusEventAt", shipment.statusEventAt?.description)
        json.member("shippedAt", shipment.shippedAt?.description)
        json.member("deliveredAt", shipment.deliveredAt?.description)
        json.member("attempts", shipment.attempts)
        json.member("exceptionCode", shipment.exceptionCode)
        json.member("exceptionText", shipment.exceptionText)
        json.objects("lines", shipment.lines) { json, line in
            json.member("lineNo", line.lineNo)
            json.member("quantity", line.quantity)
        }
        json.member("createdAt", shipment.createdAt.description)
        json.member("updatedAt", shipment.updatedAt.description)
        json.endObject()
    }

    /// A JSON array of shipments (after a key, or as a value).
    static func write(_ shipments: [Shipment], into json: inout JSONWriter) {
        json.beginArray()
        for shipment in shipments { write(shipment, into: &json) }
        json.endArray()
    }

    static func render(_ shipment: Shipment) -> String {
        var json = JSONWriter()
        write(shipment, into: &json)
        return json.text
    }

    /// `GET /orders/{id}/shipments`: `{"shipments":[…]}`.
    static func render(_ shipments: [Shipment]) -> String {
        var json = JSONWriter(capacity: 64 + 320 * shipments.count)
        json.beginObject()
        json.key("shipments")
        write(shipments, into: &json)
        json.endObject()
        return json.text
    }
}
