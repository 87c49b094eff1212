import CLibPQ

extension PostgresConnection {
    /// Runs `COPY … FROM STDIN` and lets `body` write the data through a buffered writer.
    ///
    /// When `body` throws, the COPY is ended with an error message (`PQputCopyEnd`), so the
    /// server discards every row of it, and the body's error is rethrown.
    /// - Returns: the number of rows the server copied.
    @discardableResult
    public func copyIn(_ sql: String, bufferSize: Int = 1 << 20, _ body: (inout CopyInWriter) throws -> Void) throws -> Int {
        let start = PQexec(handle, sql)
        guard let start, PQresultStatus(start) == PGRES_COPY_IN else {
            _ = try consume(start, statement: sql) // throws the server's error
            throw PostgresError(code: .unexpectedResult, message: "statement did not start COPY FROM STDIN", statement: sql)
        }
        PQclear(start)

        var writer = CopyInWriter(connection: self, statement: sql, capacity: bufferSize)
        do {
            try body(&writer)
            try writer.flush()
        } catch {
            let reason = "aborted by client: \(error)".prefix(500)
            _ = PQputCopyEnd(handle, String(reason))
            drainResults()
            throw error
        }
        guard PQputCopyEnd(handle, nil) == 1 else {
            let err = PostgresError.from(result: nil, connection: handle, statement: sql)
            drainResults()
            throw err
        }
        return try finishCopy(statement: sql)
    }

    /// Runs `COPY … TO STDOUT`, handing each chunk (usually one row) to `body` as libpq delivers it.
    ///
    /// When `body` throws, the server is asked to cancel and the rest is drained, so the
    /// connection stays usable.
    /// - Returns: the number of rows the server sent.
    @discardableResult
    public func copyOut(_ sql: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        let start = PQexec(handle, sql)
        guard let start, PQresultStatus(start) == PGRES_COPY_OUT else {
            _ = try consume(start, statement: sql)
            throw PostgresError(code: .unexpectedResult, message: "statement did not start COPY TO STDOUT", statement: sql)
        }
        PQclear(start)

        var bodyError: (any Error)?
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let n = PQgetCopyData(handle, &buffer, 0)
            if n > 0, let buffer {
                defer { PQfreemem(buffer) }
                if bodyError == nil {
                    do {
                        try body(UnsafeRawBufferPointer(start: buffer, count: Int(n)))
                    } catch {
                        bodyError = error
                        cancelHandle()?.cancel()
                    }
                }
            } else if n == -1 {
                break
            } else {
                // -2: the connection failed mid-stream.
                let err = PostgresError.from(result: nil, connection: handle, statement: sql)
                drainResults()
                throw bodyError ?? err
            }
        }
        do {
            let rows = try finishCopy(statement: sql)
            if let bodyError { throw bodyError }
            return rows
        } catch {
            throw bodyError ?? error
        }
    }

    /// Reads the final result of a COPY and clears everything after it.
    private func finishCopy(statement: String) throws -> Int {
        var rows = 0
        var failure: PostgresError?
        while let r = PQgetResult(handle) {
            if PQresultStatus(r) == PGRES_COMMAND_OK {
                rows = Int(String(cString: PQcmdTuples(r))) ?? 0
            } else if failure == nil {
                failure = PostgresError.from(result: r, connection: handle, statement: statement)
            }
            PQclear(r)
        }
        if let failure { throw failure }
        return rows
    }

    /// Sends raw COPY data (used by the writer's flush).
    func putCopyData(_ bytes: UnsafeRawBufferPointer, statement: String) throws {
        guard !bytes.isEmpty else { return }
        let status = bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
        if status != 1 {
            throw PostgresError.from(result: nil, connection: handle, statement: statement)
        }
    }
}

/// A buffered writer for COPY FROM STDIN: appends bytes locally and hands libpq large chunks.
///
/// Text-format helpers (`appendField`, `appendNull`, `endRow`) escape exactly what COPY's text
/// format requires (backslash, tab, LF, CR), so callers can write rows without building strings.
public struct CopyInWriter: ~Copyable {
    private let connection: PostgresConnection
    private let statement: String
    private let capacity: Int
    private var buffer: [UInt8]
    /// Bytes handed to libpq so far.
    public private(set) var bytesSent: Int = 0

    init(connection: PostgresConnection, statement: String, capacity: Int) {
        self.connection = connection
        self.statement = statement
        self.capacity = max(capacity, 4096)
        buffer = []
        buffer.reserveCapacity(self.capacity + 4096)
    }

    /// Appends raw bytes as they are (already in COPY format).
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > capacity { try flush() }
        if bytes.count >= capacity {
            try connection.putCopyData(bytes, statement: statement)
            bytesSent += bytes.count
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    /// Appends raw bytes as they are (already in COPY format).
    public mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Appends a string as it is (already in COPY format).
    public mutating func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Appends one text-format field, escaped, followed by a tab unless it ends the row.
    public mutating func appendField(_ bytes: UnsafeRawBufferPointer, last: Bool = false) throws {
        CopyTextFormat.appendEscaped(bytes, to: &buffer)
        buffer.append(last ? 0x0A : 0x09)
        if buffer.count >= capacity { try flush() }
    }

    /// Appends one text-format field from a string.
    public mutating func appendField(_ text: String, last: Bool = false) throws {
        var text = text
        try text.withUTF8 { try appendField(UnsafeRawBufferPointer($0), last: last) }
    }

    /// Appends a field that needs no escaping (numbers, UUIDs, timestamps the program made).
    public mutating func appendPlainField(_ text: String, last: Bool = false) throws {
        var text = text
        text.withUTF8 { buffer.append(contentsOf: $0) }
        buffer.append(last ? 0x0A : 0x09)
        if buffer.count >= capacity { try flush() }
    }

    /// Appends SQL NULL (`\N`).
    public mutating func appendNull(last: Bool = false) throws {
        buffer.append(0x5C); buffer.append(0x4E)
        buffer.append(last ? 0x0A : 0x09)
        if buffer.count >= capacity { try flush() }
    }

    /// Sends whatever is buffered.
    public mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try connection.putCopyData($0, statement: statement) }
        bytesSent += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }
}

/// COPY's text format, for code that builds COPY rows itself (the pipeline's staging encoder).
public enum CopyTextFormat {
    /// Appends a field's bytes with what the text format requires escaped: backslash, tab, LF, CR.
    @inlinable
    public static func appendEscaped<Bytes: Sequence<UInt8>>(_ bytes: Bytes, to buffer: inout [UInt8]) {
        for byte in bytes {
            switch byte {
            case 0x5C: buffer.append(0x5C); buffer.append(0x5C)
            case 0x09: buffer.append(0x5C); buffer.append(0x74)
            case 0x0A: buffer.append(0x5C); buffer.append(0x6E)
            case 0x0D: buffer.append(0x5C); buffer.append(0x72)
            default: buffer.append(byte)
            }
        }
    }
}
