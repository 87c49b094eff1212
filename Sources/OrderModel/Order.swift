import Foundation

/// One line of an order: a product, how many, at what unit price.
public struct LineItem: Hashable, Sendable, Codable {
    public var productId: String
    public var quantity: Int
    /// Unit price in the order's currency; `nil` when the source does not know it (API clients).
    public var unitPrice: Money?

    public init(productId: String, quantity: Int, unitPrice: Money? = nil) {
        self.productId = productId
        self.quantity = quantity
        self.unitPrice = unitPrice
    }
}

/// An order as the API returns it and the pipelines write it.
public struct Order: Hashable, Sendable {
    public var id: UUID
    /// Which system the order came from (`api`, or a pipeline's source name).
    public var source: String
    /// The source system's own key; unique per source.
    public var externalRef: String?
    public var customerId: String
    public var status: OrderStatus
    public var currency: String?
    public var trackingCompany: String?
    public var trackingNumber: String?
    public var items: [LineItem]
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    /// When the carrier event behind the current status happened (stale events are ignored).
    public var statusEventAt: Timestamp?
    /// Its parcels in `id` order, the most recent last; empty until one is added.
    public var shipments: [Shipment]

    public init(id: UUID, source: String, externalRef: String? = nil, customerId: String,
                status: OrderStatus = .processing, currency: String? = nil, trackingCompany: String? = nil,
                trackingNumber: String? = nil, items: [LineItem], createdAt: Timestamp, updatedAt: Timestamp,
                statusEventAt: Timestamp? = nil, shipments: [Shipment] = []) {
        self.id = id
        self.source = source
        self.externalRef = externalRef
        self.customerId = customerId
        self.status = status
        self.currency = currency
        self.trackingCompany = trackingCompany
        self.trackingNumber = trackingNumber
        self.items = items
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.statusEventAt = statusEventAt
        self.shipments = shipments
    }

    /// Sum of quantity × unit price, exact; `nil` when a price is unknown or it overflows.
    public var total: Money? {
        var sum = Money.zero
        for item in items {
            guard let price = item.unitPrice, let line = price.multiplied(by: item.quantity),
                  let next = sum.adding(line) else { return nil }
            sum = next
        }
        return sum
    }
}
