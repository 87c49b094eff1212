/// The rows a statement returned, copied out of libpq so the `PGresult` is cleared at once.
///
/// Bulk data never goes through here (that is what COPY is for), so materializing is cheap and
/// makes results plain `Sendable` values.
public struct PostgresResult: Sendable, Sequence {
    public let columns: [String]
    public let rows: [PostgresRow]
    /// The command tag's row count (`INSERT 0 5` → 5); 0 when the statement has none.
    public let affectedRows: Int

    public func makeIterator() -> IndexingIterator<[PostgresRow]> { rows.makeIterator() }
    public var count: Int { rows.count }
    public var first: PostgresRow? { rows.first }
}

/// One row of a `PostgresResult`: text values by column position or name.
public struct PostgresRow: Sendable {
    let columnIndex: ColumnIndex
    public let values: [String?]

    final class ColumnIndex: Sendable {
        let names: [String]
        let positions: [String: Int]
        init(names: [String]) {
            self.names = names
            var p: [String: Int] = [:]
            for (i, n) in names.enumerated() where p[n] == nil { p[n] = i }
            positions = p
        }
    }

    /// The raw text of a column, `nil` for NULL.
    public subscript(_ column: String) -> String? {
        guard let i = columnIndex.positions[column] else { return nil }
        return values[i]
    }

    public subscript(_ position: Int) -> String? { values[position] }

    /// Decodes a non-NULL column; throws a decoding error naming the column otherwise.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let i = columnIndex.positions[column] else {
            throw PostgresError(code: .decoding, message: "no column \"\(column)\" in result (\(columnIndex.names.joined(separator: ", ")))")
        }
        guard let text = values[i] else {
            throw PostgresError(code: .decoding, message: "column \"\(column)\" is NULL, expected \(T.self)")
        }
        guard let value = T(postgresText: text) else {
            throw PostgresError(code: .decoding, message: "column \"\(column)\": cannot read \(T.self) from \"\(text.prefix(80))\"")
        }
        return value
    }

    /// Decodes a column that may be NULL.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T?.Type) throws -> T? {
        guard let i = columnIndex.positions[column] else {
            throw PostgresError(code: .decoding, message: "no column \"\(column)\" in result")
        }
        guard let text = values[i] else { return nil }
        guard let value = T(postgresText: text) else {
            throw PostgresError(code: .decoding, message: "column \"\(column)\": cannot read \(T.self) from \"\(text.prefix(80))\"")
        }
        return value
    }
}
