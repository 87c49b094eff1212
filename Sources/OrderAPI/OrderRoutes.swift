import Feeds
import Foundation
import HTTPTypes
import Hummingbird
import OrderModel
import OrderStore
import PostgresClient
import RunSupport
import Synchronization

/// The `/orders` endpoints: parse and validate, run one repository call on the pool, render.
final class OrderRoutes: Sendable {
    let pool: PostgresConnectionPool
    let repository = OrderRepository()
    let maxBodyBytes: Int
    let ids = Mutex(UUIDv7Generator())
    /// The clock, replaceable so tests can pin times.
    let now: @Sendable () -> Timestamp

    init(pool: PostgresConnectionPool, maxBodyBytes: Int, now: @escaping @Sendable () -> Timestamp) {
        self.pool = pool
        self.maxBodyBytes = maxBodyBytes
        self.now = now
    }

    func add(to router: Router<BasicRequestContext>) {
        router.post("/orders") { request, context in try await self.create(request, context) }
        router.get("/orders") { request, context in try await self.list(request, context) }
        router.get("/orders/{id}") { request, context in try await self.get(request, context) }
        router.patch("/orders/{id}/status") { request, context in try await self.updateStatus(request, context) }
        router.patch("/orders/{id}/shipping") { request, context in try await self.updateShipping(request, context) }
        router.delete("/orders/{id}") { request, context in try await self.delete(request, context) }
        router.get("/orders/{id}/shipments") { request, context in try await self.listShipments(request, context) }
        router.post("/orders/{id}/shipments") { request, context in try await self.addShipment(request, context) }
        router.get("/orders/{id}/history") { request, context in try await self.history(request, context) }
    }

    // MARK: Handlers

    func create(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let idempotencyKey = try Self.idempotencyKey(request)
        let body = try CreateOrderRequest(json: try await jsonBody(request))
        let timestamp = now()
        let id = ids.withLock { $0.next(now: Date(timeIntervalSince1970: Double(timestamp.microseconds) / 1_000_000)) }
        let order = Order(id: id, source: OrderRepository.apiSource, externalRef: body.externalRef, customerId: body.customerId,
                          currency: body.currency, items: body.items, createdAt: timestamp, updatedAt: timestamp)
        let rendered = OrderJSON.render(order)
        let etag = OrderJSON.etag(order)
        let record = idempotencyKey.map {
            OrderRepository.IdempotencyRecord(key: $0, requestHash: ContentHash.sha256Hex(body.canonical.utf8),
                                              responseBody: rendered, etag: etag)
        }
        let repository = repository
        let outcome = try await database { conn in try repository.create(order, idempotency: record, on: conn) }
        switch outcome {
        case .created:
            return Self.json(.created, rendered, headers: [.eTag: etag, .location: "/orders/\(id.postgresText)"])
        case let .replayed(storedBody, storedETag):
            var headers: HTTPFields = [.eTag: storedETag]
            headers[Self.idempotentReplayed] = "true"
            return Self.json(.created, storedBody, headers: headers)
        }
    }

    func get(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try Self.orderID(context)
        let repository = repository
        guard let order = try await database({ conn in try repository.find(id, on: conn) }) else { throw APIProblem.notFound }
        return Self.orderResponse(order)
    }

    func list(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let query = try Self.listQuery { parameters[Substring($0)].map(String.init) }
        let repository = repository
        let page = try await database { conn in try repository.list(query, on: conn) }
        return Self.json(.ok, OrderJSON.render(page))
    }

    func updateStatus(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try Self.orderID(context)
        let change = try StatusChangeRequest(json: try await jsonBody(request))
        let check = Self.precondition(request)
        let timestamp = now(), repository = repository
        let order = try await database { conn in
            try repository.updateStatus(id, to: change.status, now: timestamp, precondition: check, on: conn)
        }
        return Self.orderResponse(order)
    }

    func updateShipping(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try Self.orderID(context)
        let change = try ShippingChangeRequest(json: try await jsonBody(request))
        let check = Self.precondition(request)
        let timestamp = now(), repository = repository
        let order = try await database { conn in
            try repository.updateShipping(id, trackingCompany: change.trackingCompany, trackingNumber: change.trackingNumber,
                                          now: timestamp, precondition: check, on: conn)
        }
        return Self.orderResponse(order)
    }

    func delete(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try Self.orderID(context)
        let check = Self.precondition(request)
        let timestamp = now(), repository = repository
        try await database { conn in try repository.delete(id, now: timestamp, precondition: check, on: conn) }
        return Response(status: .noContent)
    }

    // MARK: Pieces

    /// Runs `body` on the pool, turning store and database failures into problems.
    func database<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        do {
            return try await pool.withConnection(body)
        } catch let error as OrderStoreError {
            throw Self.problem(error)
        } catch let error as ShipmentLinesError {
            throw Self.problem(error)
        } catch let error as PostgresError {
            throw Self.problem(error)
        }
    }

    static func problem(_ error: OrderStoreError) -> APIProblem {
        switch error.code {
        case .notFound:
            return .notFound
        case .preconditionFailed:
            return APIProblem(.preconditionFailed, slug: "precondition-failed", title: "Precondition failed",
                              detail: "If-Match does not match the order's current ETag; read it again")
        case .illegalTransition:
            return APIProblem(.conflict, slug: "illegal-transition", title: "Illegal status transition",
                              detail: error.description, extensions: [("from", error.from?.rawValue ?? ""), ("to", error.to?.rawValue ?? "")])
        case .duplicateExternalRef, .duplicateID:
            return APIProblem(.conflict, slug: "duplicate-order", title: "Duplicate order", detail: error.description)
        case .idempotencyKeyReused:
            return APIProblem(.unprocessableContent, slug: "idempotency-key-reused", title: "Idempotency key reused",
                              detail: error.description)
        case .duplicateShipment:
            return APIProblem(.conflict, slug: "duplicate-shipment", title: "Duplicate shipment",
                              detail: "the order already has a shipment with this carrier and tracking number")
        case .trackingNumberRequired:
            // Schema-valid (both fields may be null) yet not storable: 422, not 400.
            return APIProblem(.unprocessableContent, slug: "tracking-number-required", title: "Tracking number required",
                              detail: "a shipment needs a tracking number; send both null to remove the most recent shipment")
        default:
            return APIProblem(.conflict, slug: "order-not-changed", title: "Order not changed", detail: error.description)
        }
    }

    static func problem(_ error: PostgresError) -> any Error {
        if error.code == .connectionFailed || error.code == .connectionLost || error.isLockTimeout || error.isQueryCanceled
            || error.isSerializationFailure {
            return APIProblem.unavailable
        }
        if error.sqlState?.hasPrefix("22") == true {
            // A data exception is a value the checks above let through; still the client's input.
            return APIProblem.invalid(field: "", "a value is out of range for the database: \(error.message)")
        }
        return error
    }

    /// The body as JSON, after the media type and size checks (415, 413, 400).
    func jsonBody(_ request: Request) async throws -> JSONValue {
        guard let type = request.headers[.contentType], Self.isJSON(type) else {
            throw APIProblem(.unsupportedMediaType, slug: "unsupported-media-type", title: "Unsupported media type",
                             detail: "send the body as application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw APIProblem(.contentTooLarge, slug: "body-too-large", title: "Content too large",
                             detail: "the body is larger than \(maxBodyBytes) bytes")
        }
        do {
            return try JSONValue.parse(Array(buffer: buffer))
        } catch {
            throw APIProblem.invalid(field: "", "the body is not valid JSON: \(error.reason)")
        }
    }

    static func isJSON(_ contentType: String) -> Bool {
        let essence = contentType.split(separator: ";", maxSplits: 1)[0].trimmingCharacters(in: .whitespaces).lowercased()
        return essence == "application/json" || (essence.hasPrefix("application/") && essence.hasSuffix("+json"))
    }

    static func orderID(_ context: BasicRequestContext) throws -> UUID {
        guard let text = context.parameters.get("id"), text.utf8.count == 36, let id = UUID(uuidString: text) else {
            throw APIProblem.invalid(field: "id", "id must be a UUID")
        }
        return id
    }

    static let idempotencyKeyHeader = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!

    static func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers[idempotencyKeyHeader] else { return nil }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw APIProblem.invalid(field: "Idempotency-Key", "Idempotency-Key must be 1 to 255 visible ASCII characters")
        }
        return key
    }

    /// The `If-Match` check (RFC 9110 §13.1.1, strong comparison); no header means no check.
    static func precondition(_ request: Request) -> @Sendable (Order) -> Bool {
        let tags = request.headers[values: .ifMatch].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // An empty field lists no tags at all: treated like no header rather than as "matches nothing".
        guard !tags.isEmpty else { return { _ in true } }
        return { order in tags.contains("*") || tags.contains(OrderJSON.etag(order)) }
    }

    static func listQuery(_ parameter: (String) -> String?) throws -> OrderRepository.ListQuery {
        var query = OrderRepository.ListQuery()
        var errors: [APIProblem.FieldError] = []
        func fail(_ field: String, _ message: String) { errors.append(.init(field: field, message: message)) }
        if let value = parameter("customerId") {
            if let problem = OrderRules.checkIdentifier(String(value), field: "customerId") { fail("customerId", problem.message) }
            query.customerId = value
        }
        if let value = parameter("status") {
            if let status = OrderStatus(rawValue: value) { query.status = status } else {
                fail("status", "status must be one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        for (name, keyPath) in [("createdFrom", \OrderRepository.ListQuery.createdFrom), ("createdTo", \.createdTo)] {
            guard let value = parameter(name) else { continue }
            if let timestamp = Timestamp(rfc3339: value), Self.storable.contains(timestamp) { query[keyPath: keyPath] = timestamp } else {
                fail(name, "\(name) must be an RFC 3339 timestamp with a zone, e.g. 2026-11-01T00:00:00Z")
            }
        }
        if let value = parameter("cursor") {
            if let cursor = OrderCursor(token: value) { query.after = cursor } else {
                fail("cursor", "cursor must be a nextCursor value from an earlier page")
            }
        }
        if let value = parameter("limit") {
            if let limit = Int(value), (1...OrderRepository.maxPageSize).contains(limit) { query.limit = limit } else {
                fail("limit", "limit must be an integer from 1 to \(OrderRepository.maxPageSize)")
            }
        }
        guard errors.isEmpty else { throw APIProblem.invalid(errors) }
        return query
    }

    /// Years 1 to 9999: what RFC 3339 can write and PostgreSQL accepts (it has no year 0).
    static let storable = Timestamp(rfc3339: "0001-01-01T00:00:00Z")!...Timestamp(rfc3339: "9999-12-31T23:59:59.999999Z")!

    static func orderResponse(_ order: Order) -> Response {
        json(.ok, OrderJSON.render(order), headers: [.eTag: OrderJSON.etag(order)])
    }

    static func json(_ status: HTTPResponse.Status, _ body: String, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

