import ErrorCodes
import OrderModel

/// Why a single-order operation did not happen, with what the caller needs to answer it.
public struct OrderStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure; extensible without breaking callers that switch on it.
    public typealias Code = ErrorCode<OrderStoreError>

    public var code: Code
    /// For `illegalTransition`: the order's status and the one asked for.
    public var from: OrderStatus?
    public var to: OrderStatus?

    public init(_ code: Code, from: OrderStatus? = nil, to: OrderStatus? = nil) {
        self.code = code
        self.from = from
        self.to = to
    }

    public static let notFound = OrderStoreError(.notFound)
    public static let preconditionFailed = OrderStoreError(.preconditionFailed)
    public static let duplicateExternalRef = OrderStoreError(.duplicateExternalRef)
    public static let duplicateID = OrderStoreError(.duplicateID)
    public static let idempotencyKeyReused = OrderStoreError(.idempotencyKeyReused)
    public static func illegalTransition(from: OrderStatus, to: OrderStatus) -> OrderStoreError {
        OrderStoreError(.illegalTransition, from: from, to: to)
    }

    public var description: String {
        switch code {
        case .notFound: "order not found"
        case .preconditionFailed: "the order changed since it was read"
        case .illegalTransition: "status cannot move from \(from?.rawValue ?? "?") to \(to?.rawValue ?? "?")"
        case .duplicateExternalRef: "an order with this externalRef already exists"
        case .duplicateID: "an order with this id already exists"
        case .idempotencyKeyReused: "the idempotency key was already used with a different request"
        default: code.description
        }
    }
}

extension ErrorCode where Domain == OrderStoreError {
    /// No order has this id.
    public static let notFound = Self("notFound")
    /// The caller's precondition (`If-Match`) did not hold for the current order.
    public static let preconditionFailed = Self("preconditionFailed")
    /// The order's status may not move to the requested one (`from` and `to` say which).
    public static let illegalTransition = Self("illegalTransition")
    /// Another API order already has this `externalRef`.
    public static let duplicateExternalRef = Self("duplicateExternalRef")
    /// An order with this id exists.
    public static let duplicateID = Self("duplicateID")
    /// The idempotency key was used before with a different request.
    public static let idempotencyKeyReused = Self("idempotencyKeyReused")
}
