import CLibPQ

// Over libpq, not postgres-nio: COPY in both formats at psql's speed on a blocking thread, and the
// same conninfo, PG* variables and service files as psql (the benchmark's floor) and every DBA tool.

/// One libpq connection, used synchronously from one thread at a time.
///
/// The type is deliberately not `Sendable`: Swift 6's checker then refuses to share it between
/// threads or tasks, which is the rule libpq needs. Every call blocks, so it belongs on a
/// dedicated thread (the CLI's main thread, a pipeline stage thread, `BlockingThread`), never on
/// the Swift concurrency pool's few threads.
public final class PostgresConnection {
    var handle: OpaquePointer
    /// Where the connection points, with any password removed (for logs and reports).
    public let target: String
    /// What it was opened with (it may hold a password: for `sibling()` only, never printed).
    private let conninfo: String

    /// Connects with a libpq conninfo string or `postgresql://` URL; an empty string means
    /// "libpq's `PG*` environment variables and defaults".
    public init(_ conninfo: String) throws {
        let keywords = ["dbname", "fallback_application_name"]
        let values = [conninfo, "orderflow"]
        let conn: OpaquePointer? = withCStringArray(keywords) { kw in
            withCStringArray(values) { vals in PQconnectdbParams(kw, vals, 1) }
        }
        guard let conn else {
            throw PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(conn) // libpq allocates even for failed connects
            throw PostgresError(code: .connectionFailed, message: message)
        }
        handle = conn
        self.conninfo = conninfo
        target = PostgresConnection.describe(conn)
        // Silence server notices ("relation already exists, skipping") that libpq would print.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        // Timestamps are read and written in UTC ISO form whatever the server's defaults are.
        try execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'")
    }

    deinit {
        PQfinish(handle)
    }

    /// `user@host:port/db`, never the password.
    static func describe(_ conn: OpaquePointer) -> String {
        func s(_ p: UnsafeMutablePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }
        let host = s(PQhost(conn)), port = s(PQport(conn)), user = s(PQuser(conn)), db = s(PQdb(conn))
        return "\(user)@\(host.hasPrefix("/") ? "[\(host)]" : host):\(port)/\(db)"
    }

    /// The backend's process id (to cancel or terminate it from another connection).
    public var backendPID: Int32 { PQbackendPID(handle) }

    /// Whether the connection is still usable.
    public var isAlive: Bool { PQstatus(handle) == CONNECTION_OK }

    /// True inside a transaction block (including a failed one).
    public var inTransaction: Bool { PQtransactionStatus(handle) != PQTRANS_IDLE }

    // MARK: - Statements

    /// Runs a statement (or several, without parameters) and returns its last result.
    @discardableResult
    public func execute(_ sql: String) throws -> PostgresResult {
        let result = PQexec(handle, sql)
        return try consume(result, statement: sql)
    }

    /// Runs one statement with bound parameters.
    @discardableResult
    public func query(_ query: PostgresQuery) throws -> PostgresResult {
        if query.binds.isEmpty {
            // Still the extended protocol, so a single statement is enforced like with binds.
            let result = PQexecParams(handle, query.sql, 0, nil, nil, nil, nil, 0)
            return try consume(result, statement: query.sql)
        }
        let result = withOptionalCStringArray(query.binds) { values in
            PQexecParams(handle, query.sql, Int32(query.binds.count), nil, values, nil, nil, 0)
        }
        return try consume(result, statement: query.sql)
    }

    /// Turns a `PGresult` into a value (or an error) and clears it.
    func consume(_ result: OpaquePointer?, statement: String) throws -> PostgresResult {
        guard let result else {
            throw PostgresError.from(result: nil, connection: handle, statement: statement)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return materialize(result)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            // A COPY through execute() would leave the connection stuck in copy mode.
            _ = PQputCopyEnd(handle, "COPY must go through copyIn/copyOut")
            drainResults()
            throw PostgresError(code: .unexpectedResult, message: "COPY statements must use copyIn or copyOut", statement: statement)
        default:
            throw PostgresError.from(result: result, connection: handle, statement: statement)
        }
    }

    private func materialize(_ result: OpaquePointer) -> PostgresResult {
        let nFields = PQnfields(result), nRows = PQntuples(result)
        var names: [String] = []
        names.reserveCapacity(Int(nFields))
        for f in 0..<nFields { names.append(String(cString: PQfname(result, f))) }
        let index = PostgresRow.ColumnIndex(names: names)
        var rows: [PostgresRow] = []
        rows.reserveCapacity(Int(nRows))
        for r in 0..<nRows {
            var values: [String?] = []
            values.reserveCapacity(Int(nFields))
            for f in 0..<nFields {
                values.append(PQgetisnull(result, r, f) == 1 ? nil : String(cString: PQgetvalue(result, r, f)))
            }
            rows.append(PostgresRow(columnIndex: index, values: values))
        }
        let tuples = String(cString: PQcmdTuples(result))
        return PostgresResult(columns: names, rows: rows, affectedRows: Int(tuples) ?? 0)
    }

    /// Reads and clears results until libpq has none left, so the connection is ready again.
    func drainResults() {
        while let r = PQgetResult(handle) { PQclear(r) }
    }

    // MARK: - Transactions

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws.
    ///
    /// A statement that failed inside `body` and was caught there still aborts the
    /// transaction; COMMIT then throws instead of silently rolling back.
    @discardableResult
    public func withTransaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try execute("BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            rollbackQuietly()
            throw error
        }
        if PQtransactionStatus(handle) == PQTRANS_INERROR {
            rollbackQuietly()
            throw PostgresError(code: .server, sqlState: "25P02", message: "transaction was aborted by an earlier error; rolled back", statement: "COMMIT")
        }
        try execute("COMMIT")
        return value
    }

    /// ROLLBACK that never throws (the original error is the one worth reporting).
    public func rollbackQuietly() {
        if isAlive, inTransaction, let r = PQexec(handle, "ROLLBACK") { PQclear(r) }
    }

    /// Asks the server to cancel whatever this connection is running (safe from another thread).
    /// A second connection to the same database, for work beside this one's (the same
    /// conninfo, password included, without the caller having to keep it).
    public func sibling() throws -> PostgresConnection {
        try PostgresConnection(conninfo)
    }

    public func cancelHandle() -> CancelHandle? {
        PQgetCancel(handle).map(CancelHandle.init)
    }
}

/// libpq's cancel object: the one thing that may be used from another thread than the connection's.
public final class CancelHandle: @unchecked Sendable {
    private let cancel: OpaquePointer
    init(_ cancel: OpaquePointer) { self.cancel = cancel }
    deinit { PQfreeCancel(cancel) }

    /// Sends a cancel request; the running statement fails with SQLSTATE 57014.
    @discardableResult
    public func cancel(timeoutMessage: Bool = false) -> Bool {
        var buffer = [CChar](repeating: 0, count: 256)
        return PQcancel(cancel, &buffer, Int32(buffer.count)) == 1
    }
}

// MARK: - C string helpers

/// Calls `body` with a NULL-terminated array of C strings, valid only for the call.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    withOptionalCStringArray(strings.map { Optional($0) }) { body($0!) }
}

/// Calls `body` with an array of C strings where `nil` stays a NULL pointer (SQL NULL),
/// followed by a terminating NULL.
func withOptionalCStringArray<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    // One contiguous buffer instead of an allocation per value.
    var storage: [CChar] = [0] // never empty, so baseAddress exists
    var offsets: [Int?] = []
    offsets.reserveCapacity(strings.count)
    for s in strings {
        guard let s else { offsets.append(nil); continue }
        offsets.append(storage.count)
        storage.append(contentsOf: s.utf8CString)
    }
    return storage.withUnsafeBufferPointer { buf in
        var pointers: [UnsafePointer<CChar>?] = offsets.map { off in off.map { buf.baseAddress! + $0 } }
        pointers.append(nil)
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
