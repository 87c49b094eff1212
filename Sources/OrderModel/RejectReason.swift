/// Why a row or an order was not applied: a stable code for machines, grouped in reports.
public struct RejectReason: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let code: String

    public init(_ code: String) { self.code = code }

    public var description: String { code }
    public static func < (a: Self, b: Self) -> Bool { a.code < b.code }

    public init(from decoder: any Decoder) throws {
        code = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(code)
    }

    // Row-level: found while reading and validating one record.
    public static let missingField = RejectReason("missing_field")
    public static let fieldTooLong = RejectReason("field_too_long")
    public static let invalidUTF8 = RejectReason("invalid_utf8")
    public static let raggedRow = RejectReason("ragged_row")
    public static let malformedRecord = RejectReason("malformed_record")
    public static let conflictingOrderRows = RejectReason("conflicting_order_rows")
    /// `invalid_<field>`: the value of a field could not be read (`invalid_quantity`).
    public static func invalidValue(_ field: String) -> RejectReason { RejectReason("invalid_\(field)") }

    // Semantic: found by comparing with the database.
    public static let unknownOrder = RejectReason("unknown_order")
    public static let illegalTransition = RejectReason("illegal_transition")
    public static let unknownShipment = RejectReason("unknown_shipment")
    public static let unknownEventCode = RejectReason("unknown_event_code")
}
