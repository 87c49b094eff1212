/// A SQL statement whose interpolated values become bound `$n` parameters, never SQL text.
///
/// `"SELECT * FROM orders WHERE id = \(id)"` is sent as `… WHERE id = $1` with `id` bound,
/// in the manner of postgres-nio's `PostgresQuery`. Identifiers go through
/// `\(identifier: name)`, which quotes them.
public struct PostgresQuery: Sendable, ExpressibleByStringInterpolation {
    public var sql: String
    /// Parameter values in text format; `nil` is SQL NULL.
    public var binds: [String?]

    public init(unsafeSQL sql: String, binds: [String?] = []) {
        self.sql = sql
        self.binds = binds
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, binds: stringInterpolation.binds)
    }

    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        var sql = ""
        var binds: [String?] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// Binds a value as the next `$n` parameter.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value) {
            binds.append(value.postgresText)
            sql += "$\(binds.count)"
        }

        /// Binds an optional value; `nil` becomes SQL NULL.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value?) {
            binds.append(value?.postgresText)
            sql += "$\(binds.count)"
        }

        /// Inserts a quoted identifier (table, column, schema name).
        public mutating func appendInterpolation(identifier: String) {
            sql += PostgresQuery.quoteIdentifier(identifier)
        }

        /// Inserts trusted SQL text as it is (for fragments the program itself wrote).
        public mutating func appendInterpolation(unescaped: String) {
            sql += unescaped
        }
    }

    /// Quotes an identifier the way PostgreSQL's `quote_ident` does, always.
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingAll("\"", with: "\"\"") + "\""
    }

    /// Quotes a string literal for the rare statements that cannot take parameters
    /// (`CREATE DATABASE … TEMPLATE`, `SET`), doubling quotes and using E'' for backslashes.
    public static func quoteLiteral(_ value: String) -> String {
        let doubled = value.replacingAll("'", with: "''")
        if doubled.contains("\\") {
            return "E'" + doubled.replacingAll("\\", with: "\\\\") + "'"
        }
        return "'" + doubled + "'"
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        guard contains(target) else { return self }
        var out = ""
        out.reserveCapacity(count + 8)
        for ch in self {
            if ch == target { out += replacement } else { out.append(ch) }
        }
        return out
    }
}
