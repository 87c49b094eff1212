/// How many units of one order line a shipment carries.
public struct ShipmentLine: Hashable, Sendable {
    /// The line's 1-based position in its order (`order_items.line_no`).
    public var lineNo: Int
    public var quantity: Int

    public init(lineNo: Int, quantity: Int) {
        self.lineNo = lineNo
        self.quantity = quantity
    }
}

/// One parcel of an order: a carrier's tracking number and what the carrier last said about it.
///
/// An order may have several (a split shipment); the one with the highest `id` is the most
/// recent, and the order's `trackingCompany`/`trackingNumber` are a copy of its carrier and number.
public struct Shipment: Hashable, Sendable {
    /// Assigned by the database, increasing: it orders an order's shipments.
    public var id: Int64
    /// The normalized carrier name (`Carrier.normalizedName`); empty when the carrier is unknown
    /// (an order that had a tracking number without a company before shipments existed).
    public var carrier: String
    /// The normalized tracking number (`Carrier.normalizedTrackingNumber`).
    public var trackingNumber: String
    /// `nil` until a carrier event gives one; a shipment without status counts as `shipped`.
    public var status: OrderStatus?
    /// When the carrier event behind `status` happened.
    public var statusEventAt: Timestamp?
    public var shippedAt: Timestamp?
    public var deliveredAt: Timestamp?
    /// Failed delivery attempts the carrier reported.
    public var attempts: Int
    public var exceptionCode: String?
    public var exceptionText: String?
    /// What it carries; empty when the sender did not say (the whole order, or unknown).
    public var lines: [ShipmentLine]
    /// Who created it: `api`, or a pipeline's source.
    public var source: String
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(id: Int64, carrier: String, trackingNumber: String, status: OrderStatus? = nil,
                statusEventAt: Timestamp? = nil, shippedAt: Timestamp? = nil, deliveredAt: Timestamp? = nil,
                attempts: Int = 0, exceptionCode: String? = nil, exceptionText: String? = nil,
                lines: [ShipmentLine] = [], source: String, createdAt: Timestamp, updatedAt: Timestamp) {
        self.id = id
        self.carrier = carrier
        self.trackingNumber = trackingNumber
        self.status = status
        self.statusEventAt = statusEventAt
        self.shippedAt = shippedAt
        self.deliveredAt = deliveredAt
        self.attempts = attempts
        self.exceptionCode = exceptionCode
        self.exceptionText = exceptionText
        self.lines = lines
        self.source = source
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Order statuses that take no new shipment (the spec: a cancelled or returned order is done).
    public static func acceptsNewShipment(_ status: OrderStatus) -> Bool { !status.isTerminal }

    /// Why `lines` cannot be a shipment of an order whose lines are `ordered` (line number →
    /// quantity), one per offending line; empty when they can. A line must name one of the
    /// order's lines, once, and carry at most that line's quantity. Keyed by line number, not
    /// position, because a feed may number an order's lines itself.
    public static func problems(lines: [ShipmentLine], ordered: [Int: Int]) -> [ShipmentLineProblem] {
        var problems: [ShipmentLineProblem] = []
        var seen = Set<Int>()
        for (index, line) in lines.enumerated() {
            guard let quantity = ordered[line.lineNo] else {
                problems.append(.init(index: index, field: "lineNo", message: "lineNo \(line.lineNo) is not a line of the order"))
                continue
            }
            guard seen.insert(line.lineNo).inserted else {
                problems.append(.init(index: index, field: "lineNo", message: "lineNo \(line.lineNo) appears more than once"))
                continue
            }
            if line.quantity > quantity {
                problems.append(.init(index: index, field: "quantity", message: "quantity \(line.quantity) exceeds line \(line.lineNo)'s quantity \(quantity)"))
            }
        }
        return problems
    }
}

/// A shipment line that does not fit its order: its position in the shipment's lines, the
/// member that is wrong (`lineNo` or `quantity`) and a sentence for the user.
public struct ShipmentLineProblem: Hashable, Sendable {
    public var index: Int
    public var field: String
    public var message: String

    public init(index: Int, field: String, message: String) {
        self.index = index
        self.field = field
        self.message = message
    }
}
