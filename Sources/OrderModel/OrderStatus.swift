/// Where an order is in its life; the raw values are what the API, feeds and database store.
public enum OrderStatus: String, CaseIterable, Sendable, Codable, Hashable {
    case processing
    case shipped
    case inTransit = "in_transit"
    case outForDelivery = "out_for_delivery"
    case availableForPickup = "available_for_pickup"
    case failedAttempt = "failed_attempt"
    case exception
    case delivered
    case returned
    case cancelled

    /// The carrier-reported states between hand-over and delivery.
    public static let active: Set<OrderStatus> = [.inTransit, .outForDelivery, .availableForPickup, .failedAttempt, .exception]

    /// Statuses an order can never leave.
    public var isTerminal: Bool { self == .returned || self == .cancelled }

    /// The statuses this one may move to (docs/feed-format.md, "Order lifecycle"). Forward moves may skip
    /// steps because carriers report late or not at all; the same status is a no-op, not a move.
    public var allowedNext: Set<OrderStatus> {
        switch self {
        case .processing:
            return Self.active.union([.shipped, .delivered, .cancelled])
        case .shipped:
            return Self.active.union([.delivered, .returned, .cancelled])
        case .inTransit, .outForDelivery, .availableForPickup, .failedAttempt, .exception:
            return Self.active.subtracting([self]).union([.delivered, .returned])
        case .delivered:
            return [.returned]
        case .returned, .cancelled:
            return []
        }
    }

    /// What moving from `self` to `next` means.
    public func transition(to next: OrderStatus) -> StatusTransition {
        if next == self { return .unchanged }
        return allowedNext.contains(next) ? .allowed : .illegal(from: self, to: next)
    }

    /// Every allowed (from, to) pair: the content of the `order_status_transition` table.
    public static var allowedTransitions: [(from: OrderStatus, to: OrderStatus)] {
        allCases.flatMap { from in
            allCases.filter { from.allowedNext.contains($0) }.map { (from: from, to: $0) }
        }
    }
}

/// The outcome of asking whether a status change is allowed.
public enum StatusTransition: Equatable, Sendable {
    case unchanged
    case allowed
    case illegal(from: OrderStatus, to: OrderStatus)
}
