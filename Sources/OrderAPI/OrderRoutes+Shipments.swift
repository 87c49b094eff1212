import Foundation
import HTTPTypes
import Hummingbird
import OrderModel
import OrderStore
import PostgresClient

/// `/orders/{id}/shipments` and `/orders/{id}/history`.
extension OrderRoutes {
    func listShipments(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try Self.orderID(context)
        let repository = repository
        guard let order = try await database({ conn in try repository.find(id, on: conn) }) else { throw APIProblem.notFound }
        return Self.json(.ok, ShipmentJSON.render(order.shipments), headers: [.eTag: OrderJSON.etag(order)])
    }

    /// 201 with the new shipment; the `ETag` is the order's after the change, so the next
    /// conditional request on the order can send it in `If-Match`.
    func addShipment(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try Self.orderID(context)
        let body = try AddShipmentRequest(json: try await jsonBody(request))
        let check = Self.precondition(request)
        let timestamp = now(), repository = repository
        let added = try await database { conn in
            try repository.addShipment(body.shipment, to: id, now: timestamp, precondition: check, on: conn)
        }
        return Self.json(.created, ShipmentJSON.render(added.shipment), headers: [.eTag: OrderJSON.etag(added.order)])
    }

    func history(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try Self.orderID(context)
        let repository = repository
        guard let events = try await database({ conn in try repository.history(id, on: conn) }) else { throw APIProblem.notFound }
        return Self.json(.ok, HistoryJSON.render(events))
    }

    /// 422 naming every line that does not fit the order, as `lines[i].lineNo`/`.quantity`.
    static func problem(_ error: ShipmentLinesError) -> APIProblem {
        APIProblem(.unprocessableContent, slug: "invalid-shipment-lines", title: "Shipment lines do not fit the order",
                   detail: error.description,
                   errors: error.problems.map { .init(field: "lines[\($0.index)].\($0.field)", message: $0.message) })
    }
}
