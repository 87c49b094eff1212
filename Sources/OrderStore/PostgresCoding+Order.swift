import OrderModel
import PostgresClient

extension Timestamp: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { exactDescription }
    /// Reads the server's ISO output (`2026-11-26 11:53:16.123456+00`); sessions run in UTC.
    public init?(postgresText: String) { self.init(rfc3339: postgresText) }
}

extension Money: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { description }
    public init?(postgresText: String) { self.init(postgresText) }
}

extension OrderStatus: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { rawValue }
    public init?(postgresText: String) { self.init(rawValue: postgresText) }
}
