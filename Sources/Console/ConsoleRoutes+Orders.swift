import Export
import Foundation
import HTTPTypes
import Hummingbird
import OrderModel
import OrderStore
import Pipeline
import PostgresClient
import Reports

// Order lookup and an order's page with its timeline.
extension ConsoleRoutes {
    func lookup(_ request: Request) async throws -> Response {
        let text = (request.uri.queryParameters["q"].map(String.init) ?? "").trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else {
            return Self.page(.ok, ConsolePages.render(ConsolePages.Lookup(chrome: Self.chrome(tokens, "orders"), query: "", rows: [],
                                                                          searched: false, limited: false), "orders"))
        }
        let limit = Self.pageSize
        let orders = try await database { conn in
            let queries = ConsoleQueries(conn: conn)
            return try queries.readOnly { try queries.lookup(text, limit: limit + 1) }
        }
        if orders.count == 1 { return .redirect(to: "/console/orders/\(orders[0].id.postgresText)", type: .normal) }
        let rows = orders.prefix(limit).map { o in
            ConsolePages.Lookup.Row(href: "/console/orders/\(o.id.postgresText)", id: o.id.postgresText, source: o.source,
                                    externalRef: o.externalRef ?? "", customer: o.customerId, status: o.status.rawValue,
                                    created: ConsolePages.time(o.createdAt))
        }
        return Self.page(.ok, ConsolePages.render(ConsolePages.Lookup(chrome: Self.chrome(tokens, "orders"), query: text, rows: Array(rows),
                                                                      searched: true, limited: orders.count > limit), "orders"))
    }

    func order(_ context: BasicRequestContext) async throws -> Response {
        guard let text = context.parameters.get("id"), text.utf8.count == 36, let id = UUID(uuidString: text) else {
            throw ConsoleError.notFound("An order id is a UUID.")
        }
        let repository = OrderRepository()
        // The timeline reads in a snapshot of its own; an order deleted in between is not found.
        let found = try await database { conn -> (Order, [OrderHistoryEvent])? in
            guard let history = try repository.history(id, on: conn), let order = try repository.find(id, on: conn) else { return nil }
            return (order, history)
        }
        guard let (order, history) = found else { throw ConsoleError.notFound("There is no order \(text).") }
        let view = ConsolePages.OrderPage(
            chrome: Self.chrome(tokens, "orders"), id: order.id.postgresText, source: order.source, externalRef: order.externalRef ?? "",
            customer: order.customerId, status: order.status.rawValue, currency: order.currency ?? "",
            total: order.total.map(\.description) ?? "", created: ConsolePages.time(order.createdAt), updated: ConsolePages.time(order.updatedAt),
            lines: order.items.enumerated().map { i, item in
                .init(lineNo: i + 1, product: item.productId, quantity: item.quantity, unitPrice: item.unitPrice?.description ?? "")
            },
            shipments: order.shipments.map { s in
                .init(id: s.id, carrier: s.carrier, trackingNumber: s.trackingNumber, status: s.status?.rawValue ?? "",
                      shipped: ConsolePages.time(s.shippedAt), delivered: ConsolePages.time(s.deliveredAt), attempts: s.attempts,
                      exception: [s.exceptionCode, s.exceptionText].compactMap { $0 }.joined(separator: ": "),
                      lines: s.lines.map { "line \($0.lineNo) × \($0.quantity)" }.joined(separator: ", "), source: s.source)
            },
            events: history.map(Self.event))
        return Self.page(.ok, ConsolePages.render(view, "order"))
    }

    /// A timeline row: what happened, and who said so (a run links to its page).
    static func event(_ e: OrderHistoryEvent) -> ConsolePages.OrderPage.Event {
        let what: String, detail: String
        switch e.origin {
        case .order:
            what = e.kind.replacingOccurrences(of: "_", with: " ")
            var parts: [String] = []
            if e.fromStatus != nil || e.toStatus != nil { parts.append("\(e.fromStatus ?? "–") → \(e.toStatus ?? "–")") }
            if let number = e.trackingNumber { parts.append([e.carrier, number].compactMap { $0 }.joined(separator: " ")) }
            if let code = e.eventCode { parts.append(code) }
            if let text = e.text { parts.append(text) }
            detail = parts.joined(separator: "; ")
        case .carrier:
            what = "carrier scan"
            detail = [[e.carrier, e.trackingNumber].compactMap { $0 }.joined(separator: " "), e.eventCode, e.status, e.location, e.text]
                .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "; ")
        }
        let label: String, href: String?
        if let run = e.runId {
            label = "run \(run)"
            href = "/console/runs/\(run)"
        } else if e.source == OrderRepository.apiSource {
            label = "API request"
            href = nil
        } else {
            label = e.source ?? ""
            href = nil
        }
        return .init(at: ConsolePages.time(e.at), what: what, detail: detail, origin: e.origin.rawValue, sourceLabel: label, sourceHref: href)
    }
}
