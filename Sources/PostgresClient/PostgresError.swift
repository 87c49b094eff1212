import ErrorCodes
import CLibPQ

/// An error from PostgreSQL or from libpq, with everything the server said about it.
///
/// Modelled on postgres-nio's `PSQLError`: a small extensible `Code` plus the server's fields.
/// Parameter values are never stored here, so errors can be logged without leaking data.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public typealias Code = ErrorCode<PostgresError>

    public var code: Code
    /// The five-character SQLSTATE, e.g. `23505` for a unique violation.
    public var sqlState: String?
    public var message: String
    public var detail: String?
    public var hint: String?
    /// The server's context line (`CONTEXT:`), e.g. which COPY line failed.
    public var context: String?
    /// The statement text that failed (never its parameter values).
    public var statement: String?

    public init(code: Code, sqlState: String? = nil, message: String, detail: String? = nil,
                hint: String? = nil, context: String? = nil, statement: String? = nil) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.context = context
        self.statement = statement
    }

    public var description: String {
        var parts = ["PostgreSQL \(code)"]
        if let sqlState { parts[0] += " [\(sqlState)]" }
        parts[0] += ": \(message)"
        if let detail { parts.append("DETAIL: \(detail)") }
        if let hint { parts.append("HINT: \(hint)") }
        if let context { parts.append("CONTEXT: \(context)") }
        if let statement { parts.append("STATEMENT: \(statement.count > 400 ? String(statement.prefix(400)) + "…" : statement)") }
        return parts.joined(separator: "\n  ")
    }

    /// SQLSTATE classes the callers test for.
    public var isUniqueViolation: Bool { sqlState == "23505" }
    public var isSerializationFailure: Bool { sqlState == "40001" || sqlState == "40P01" }
    public var isLockTimeout: Bool { sqlState == "55P03" }
    public var isQueryCanceled: Bool { sqlState == "57014" }
}

extension PostgresError {
    /// Builds an error from a failed result, choosing `connectionLost` when the socket is gone.
    static func from(result: OpaquePointer?, connection: OpaquePointer?, statement: String?) -> PostgresError {
        func field(_ code: UInt8) -> String? {
            guard let result, let value = PQresultErrorField(result, Int32(code)) else { return nil }
            let text = String(cString: value)
            return text.isEmpty ? nil : text
        }
        let lost = connection.map { PQstatus($0) == CONNECTION_BAD } ?? true
        let sqlState = field(UInt8(ascii: "C"))
        var message = field(UInt8(ascii: "M"))
        if message == nil, let connection, let raw = PQerrorMessage(connection) {
            message = String(cString: raw).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let code: Code
        if lost || sqlState?.hasPrefix("08") == true || sqlState == "57P01" || sqlState == "57P02" || sqlState == "57P03" {
            code = .connectionLost
        } else if sqlState != nil {
            code = .server
        } else {
            code = .unexpectedResult
        }
        return PostgresError(
            code: code, sqlState: sqlState,
            message: (message?.isEmpty == false ? message! : "unknown error"),
            detail: field(UInt8(ascii: "D")), hint: field(UInt8(ascii: "H")),
            context: field(UInt8(ascii: "W")), statement: statement)
    }
}

extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

extension Set where Element == Character {
    static let whitespacesAndNewlines: Set<Character> = [" ", "\t", "\n", "\r"]
}

extension ErrorCode where Domain == PostgresError {
    /// The connection could not be established.
    public static let connectionFailed = Self("connectionFailed")
    /// The connection broke while in use (server restart, network, terminated backend).
    public static let connectionLost = Self("connectionLost")
    /// The server rejected a statement; see `sqlState`.
    public static let server = Self("server")
    /// The client aborted a COPY FROM STDIN; the server rolled it back.
    public static let copyAborted = Self("copyAborted")
    /// libpq returned a result this layer did not expect for the statement.
    public static let unexpectedResult = Self("unexpectedResult")
    /// A value could not be decoded into the requested Swift type.
    public static let decoding = Self("decoding")
}
