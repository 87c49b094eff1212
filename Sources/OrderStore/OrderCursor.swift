import Foundation
import OrderModel
import PostgresClient

/// A position in the `(createdAt, id)` order, exchanged with clients as an opaque token.
public struct OrderCursor: Sendable, Hashable {
    public var createdAt: Timestamp
    public var id: UUID

    public init(createdAt: Timestamp, id: UUID) {
        self.createdAt = createdAt
        self.id = id
    }

    /// `<microseconds>_<uuid>`: plain, so the OpenAPI document can give its exact pattern.
    public var token: String { "\(createdAt.microseconds)_\(id.postgresText)" }

    /// Reads `^[0-9]{1,16}_<lowercase uuid>$` (what `token` makes); `nil` for anything else.
    public init?(token: String) {
        let parts = token.split(separator: "_", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, (1...16).contains(parts[0].utf8.count), parts[0].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let micros = Int64(parts[0]), parts[1].utf8.count == 36,
              parts[1].utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || $0 == 0x2D }),
              let id = UUID(uuidString: String(parts[1])) else { return nil }
        self.init(createdAt: Timestamp(microseconds: micros), id: id)
    }
}
