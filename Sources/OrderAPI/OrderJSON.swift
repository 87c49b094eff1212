import OrderModel
import OrderStore

/// The order as the API shows it: the original service's members first, in its order, then
/// the optional ones the pipelines also use, only when set, then its shipments (always, so
/// the original members keep their bytes and their places).
enum OrderJSON {
    static func write(_ order: Order, into json: inout JSONWriter) {
        json.beginObject()
        json.member("customerId", order.customerId)
        json.objects("products", order.items) { json, item in
            json.member("productId", item.productId)
            json.member("quantity", item.quantity)
            if let price = item.unitPrice { json.member("unitPrice", price.description) }
        }
        json.member("trackingCompany", order.trackingCompany)
        json.member("trackingNumber", order.trackingNumber)
        json.member("id", order.id.postgresText)
        json.member("status", order.status.rawValue)
        json.member("createdAt", order.createdAt.description)
        json.member("updatedAt", order.updatedAt.description)
        if let ref = order.externalRef { json.member("externalRef", ref) }
        if let currency = order.currency { json.member("currency", currency) }
        json.key("shipments")
        ShipmentJSON.write(order.shipments, into: &json)
        json.endObject()
    }

    static func render(_ order: Order) -> String {
        var json = JSONWriter()
        write(order, into: &json)
        return json.text
    }

    static func render(_ page: OrderRepository.Page) -> String {
        var json = JSONWriter(capacity: 256 * max(1, page.orders.count))
        json.beginObject()
        json.key("orders")
        json.beginArray()
        for order in page.orders { write(order, into: &json) }
        json.endArray()
        json.member("nextCursor", page.next?.token)
        json.endObject()
        return json.text
    }

    /// A strong validator that changes whenever the order does (every change sets `updated_at`).
    static func etag(_ order: Order) -> String {
        "\"" + String(order.updatedAt.microseconds, radix: 36) + "\""
    }
}
