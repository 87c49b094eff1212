import Feeds
import Foundation
import OrderModel

/// Reads order feeds (CSV or NDJSON, gzip'd or not) record by record, validates each one and
/// hands COPY-ready staging bytes to `emit` in chunks of about `chunkSize`.
///
/// Memory is bounded by the chunk size and one record; nothing is kept per order.
struct OrderFeedReader {
    let definition: PipelineDefinition
    var chunkSize = 1 << 20
    /// Set for a first load (see `FirstLoadRows`): the run's source and time as COPY text.
    var firstLoad: (source: String, now: Timestamp)?
    /// Keys seen in earlier inputs of this run.
    let seenKeys = SeenKeys()

    init(definition: PipelineDefinition, chunkSize: Int = 1 << 20, firstLoad: (source: String, now: Timestamp)? = nil) {
        self.definition = definition
        self.chunkSize = chunkSize
        self.firstLoad = firstLoad
    }

    /// What reading saw, for the report and the count reconciliation.
    struct Stats: Sendable {
        var records = 0
        var rowsStaged = 0
        var rowRejects = 0
        var bytesIn: Int64 = 0
        var bytesDecoded: Int64 = 0
        /// First load: orders, records and line items that went straight to the final tables.
        var firstLoadOrders = 0
        var firstLoadRecords = 0
        var firstLoadLines = 0
        /// Orders keyed by `order_id` rather than `external_ref`.
        var idKeyedGroups = 0
        /// Tracking feeds: accepted events per carrier and per mapped status ("none": no status).
        var eventsByCarrier: [String: Int] = [:]
        var eventsByStatus: [String: Int] = [:]
    }

    /// The feed lacks what the pipeline needs (a configuration error, exit 2).
    struct MissingColumns: Error, CustomStringConvertible {
        var file: String
        var missing: [String]
        var header: [String]
        var description: String {
            "\(file): the header lacks column(s) \(missing.joined(separator: ", ")) (header: \(header.prefix(20).joined(separator: ", "))); map them under `mapping:` in the pipeline"
        }
    }

    /// Reads one input; `progress` gets the input bytes consumed after every chunk.
    func read(path: String, fileNumber: Int, stats: inout Stats, progress: (Int64) -> Void = { _ in },
              emit: (StageRowEncoder.Stream, [UInt8]) throws -> Void) throws {
        let limits = DecompressionLimits(maxOutputBytes: definition.maxDecompressedBytes, maxRatio: definition.maxCompressionRatio)
        let decoder = try GzipDecoder(source: FileByteSource(path: path), limits: limits)
        func send(_ stream: StageRowEncoder.Stream, _ chunk: [UInt8]) throws {
            try emit(stream, chunk)
            progress(decoder.inputBytes)
        }
        var encoder = StageRowEncoder(seenKeys: seenKeys, firstLoad: firstLoad.map { FirstLoadRows(source: $0.source, now: $0.now) })
        let validator = OrderRowValidator(defaultCurrency: definition.defaultCurrency)
        switch definition.format(forFile: path) {
        case .csv:
            try readCSV(decoder, file: fileNumber, path: path, validator: validator, encoder: &encoder, stats: &stats, emit: send)
        case .ndjson:
            try readNDJSON(decoder, file: fileNumber, validator: validator, encoder: &encoder, stats: &stats, emit: send)
        }
        encoder.finishGroup()
        try encoder.flush(atLeast: 1, send)
        stats.idKeyedGroups += encoder.idKeyedGroups
        if let loaded = encoder.firstLoad {
            stats.firstLoadOrders += loaded.orderCount
            stats.firstLoadRecords += loaded.recordCount
            stats.firstLoadLines += loaded.lineCount
        }
        stats.bytesIn += decoder.inputBytes
        stats.bytesDecoded += decoder.outputBytes
    }

    private func readCSV(_ source: GzipDecoder<FileByteSource>, file: Int, path: String, validator: OrderRowValidator,
                         encoder: inout StageRowEncoder, stats: inout Stats, emit: (StageRowEncoder.Stream, [UInt8]) throws -> Void) throws {
        // Hands full buffers to the COPY side; a nested function may use the inout encoder.
        func flush() throws { try encoder.flush(atLeast: chunkSize, emit) }
        var options = CSVOptions()
        options.delimiter = definition.delimiter
        let reader = CSVReader(source: source, options: options)
        guard let headerRecord = try reader.nextNonBlank() else { return } // empty file: nothing to read
        let header = CSVHeader(record: headerRecord)
        // Column of each canonical field, indexed by `Field.rawValue` (-1: not in this feed).
        let columns = Field.allCases.map { header.index(of: definition.column(for: $0.name, format: .csv)) ?? -1 }
        var missing = [Field.customerId, .productId, .quantity].filter { columns[$0.rawValue] < 0 }
            .map { definition.column(for: $0.name, format: .csv) }
        if columns[Field.orderId.rawValue] < 0 && columns[Field.externalRef.rawValue] < 0 {
            missing.append(definition.column(for: "external_ref", format: .csv))
        }
        if !missing.isEmpty { throw MissingColumns(file: path, missing: missing, header: header.names) }
        let width = header.names.count
        // Rows of one order usually repeat its fields byte for byte: the order-level part that
        // was validated for the previous row then holds, and only the line is checked.
        var previousOrder: OrderRow?
        var previousOrderFields: [UInt8] = [], orderFields: [UInt8] = []

        while let next = try reader.nextOrMalformed() {
            let record: CSVRecord
            switch next {
            case .success(let r):
                record = r
            case .failure(let error):
                // The reader resynchronizes at the next line; the broken record is a reject.
                stats.records += 1
                stats.rowRejects += 1
                encoder.appendReject(position: StageRowEncoder.position(file: file, line: error.line ?? 0), orderKey: nil,
                                     reason: .malformedRecord, message: error.reason)
                try flush()
                continue
            }
            stats.records += 1
            let position = StageRowEncoder.position(file: file, line: record.line)
            let get: OrderRowValidator.Get = { field in
                let i = columns[field.rawValue]
                guard i >= 0, i < record.count else { return nil }
                return OrderRowValidator.trimmed(record[i])
            }
            if record.count != width {
                stats.rowRejects += 1
                encoder.appendReject(position: position, orderKey: validator.orderKey(get), reason: .raggedRow,
                                     message: "record has \(record.count) fields, the header has \(width)")
                try flush()
                continue
            }
            orderFields.removeAll(keepingCapacity: true)
            for field in Field.orderLevel where columns[field.rawValue] >= 0 {
                orderFields.append(contentsOf: record[columns[field.rawValue]])
                orderFields.append(0xFF) // never in UTF-8: fields cannot run into each other
            }
            let repeated = previousOrder != nil && orderFields == previousOrderFields
            let order = repeated ? .success(previousOrder!) : validator.order(get)
            switch order {
            case .failure(let problem):
                previousOrder = nil
                stats.rowRejects += 1
                encoder.appendReject(position: position, orderKey: validator.orderKey(get), reason: problem.reason, message: problem.message)
            case .success(var row):
                if !repeated {
                    previousOrder = row
                    swap(&previousOrderFields, &orderFields)
                }
                if row.isDelete {
                    encoder.appendRow(row, position: position, recordFirst: true)
                    stats.rowsStaged += 1
                } else if let problem = validator.line(&row, get) {
                    stats.rowRejects += 1
                    encoder.appendReject(position: position, orderKey: row.orderKey, reason: problem.reason, message: problem.message)
                } else {
                    encoder.appendRow(row, position: position, recordFirst: true, sameOrderFields: repeated)
                    stats.rowsStaged += 1
                }
            }
            try flush()
        }
    }

    private func readNDJSON(_ source: GzipDecoder<FileByteSource>, file: Int, validator: OrderRowValidator,
                            encoder: inout StageRowEncoder, stats: inout Stats, emit: (StageRowEncoder.Stream, [UInt8]) throws -> Void) throws {
        // Hands full buffers to the COPY side; a nested function may use the inout encoder.
        func flush() throws { try encoder.flush(atLeast: chunkSize, emit) }
        let reader = NDJSONReader(source: source)
        // JSON key → canonical field, once for the run.
        var fieldOfKey: [String: Field] = [:]
        for field in Field.allCases { fieldOfKey[definition.column(for: field.name, format: .ndjson)] = field }
        let productsKey = definition.mapping["products"] ?? "products"
        /// The canonical fields of one JSON object as bytes, or the first field that is not a scalar.
        func fields(_ object: [JSONMember]) -> Result<[ArraySlice<UInt8>?], FieldProblem> {
            var values = [ArraySlice<UInt8>?](repeating: nil, count: Field.allCases.count)
            for member in object {
                guard let field = fieldOfKey[member.key] else { continue }
                switch member.value {
                case .string(let s): values[field.rawValue] = OrderRowValidator.trimmed(Array(s.utf8)[...])
                case .number(let text): values[field.rawValue] = Array(text.utf8)[...]
                case .bool(let b): values[field.rawValue] = Array((b ? "true" : "false").utf8)[...]
                case .null: values[field.rawValue] = nil
                case .array, .object:
                    return .failure(FieldProblem(field: field.name, reason: .invalidValue(field.name), message: "\(member.key) must be text or a number, not an array or object"))
                }
            }
            return .success(values)
        }
        while let line = try reader.next() {
            stats.records += 1
            let position = StageRowEncoder.position(file: file, line: line.line)
            let members: [JSONMember]
            do {
                members = try line.parseObject()
            } catch {
                stats.rowRejects += 1
                let reason: RejectReason = error.code == .invalidUTF8 ? .invalidUTF8 : .malformedRecord
                encoder.appendReject(position: position, orderKey: nil, reason: reason, message: error.reason + (error.column.map { " (column \($0))" } ?? ""))
                try flush()
                continue
            }
            let values: [ArraySlice<UInt8>?]
            switch fields(members) {
            case .failure(let problem):
                stats.rowRejects += 1
                encoder.appendReject(position: position, orderKey: nil, reason: problem.reason, message: problem.message)
                try flush()
                continue
            case .success(let v):
                values = v
            }
            let get: OrderRowValidator.Get = { values[$0.rawValue] }
            var row: OrderRow
            switch validator.order(get) {
            case .failure(let problem):
                stats.rowRejects += 1
                encoder.appendReject(position: position, orderKey: validator.orderKey(get), reason: problem.reason, message: problem.message)
                try flush()
                continue
            case .success(let r):
                row = r
            }
            if row.isDelete {
                encoder.appendRow(row, position: position, recordFirst: true)
                stats.rowsStaged += 1
                try flush()
                continue
            }
            guard case .array(let products)? = members.first(where: { $0.key == productsKey })?.value, !products.isEmpty else {
                stats.rowRejects += 1
                encoder.appendReject(position: position, orderKey: row.orderKey, reason: .missingField, message: "\(productsKey) must be a non-empty array of line items")
                try flush()
                continue
            }
            var rows: [OrderRow] = []
            var problem: FieldProblem?
            products: for (i, product) in products.enumerated() {
                guard case .object(let productFields) = product else {
                    problem = FieldProblem(field: productsKey, reason: .invalidValue("products"), message: "\(productsKey)[\(i)] is not an object")
                    break products
                }
                let lineValues: [ArraySlice<UInt8>?]
                switch fields(productFields) {
                case .failure(let p):
                    problem = FieldProblem(field: p.field, reason: p.reason, message: "\(productsKey)[\(i)]: \(p.message)")
                    break products
                case .success(let v):
                    lineValues = v
                }
                var lineRow = row
                if let p = validator.line(&lineRow, { lineValues[$0.rawValue] }) {
                    problem = FieldProblem(field: p.field, reason: p.reason, message: "\(productsKey)[\(i)]: \(p.message)")
                    break products
                }
                rows.append(lineRow)
            }
            if let problem {
                stats.rowRejects += 1
                encoder.appendReject(position: position, orderKey: row.orderKey, reason: problem.reason, message: problem.message)
            } else {
                for (i, r) in rows.enumerated() {
                    encoder.appendRow(r, position: position, recordFirst: i == 0)
                }
                stats.rowsStaged += rows.count
            }
            try flush()
        }
    }
}

/// Reads and validates a feed without a database, for `orderflow bench read` and profiling.
public enum FeedReadProbe {
    /// Returns the number of records and of COPY bytes the reader produced.
    public static func run(definition: PipelineDefinition, path: String) throws -> (records: Int, rejects: Int, stagedBytes: Int) {
        var stats = OrderFeedReader.Stats()
        var bytes = 0
        try OrderFeedReader(definition: definition).read(path: path, fileNumber: 0, stats: &stats) { bytes += $1.count }
        return (stats.records, stats.rowRejects, bytes)
    }
}
