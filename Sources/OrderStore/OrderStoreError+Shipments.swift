import ErrorCodes
import OrderModel

extension ErrorCode where Domain == OrderStoreError {
    /// The order already has a shipment with this carrier and tracking number.
    public static let duplicateShipment = Self("duplicateShipment")
    /// A carrier without a tracking number: a shipment is identified by its number, so there
    /// is nothing to store.
    public static let trackingNumberRequired = Self("trackingNumberRequired")
}

extension OrderStoreError {
    public static let duplicateShipment = OrderStoreError(.duplicateShipment)
    public static let trackingNumberRequired = OrderStoreError(.trackingNumberRequired)
}

/// The lines of a new shipment do not fit its order; every offending line is named, so the
/// caller can answer with all of them at once.
public struct ShipmentLinesError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [ShipmentLineProblem]

    public init(problems: [ShipmentLineProblem]) { self.problems = problems }

    public var description: String { problems.map(\.message).joined(separator: "; ") }
}
