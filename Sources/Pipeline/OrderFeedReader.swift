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

    /// What reading saw, for the report and the count reconciliation.
    struct Stats: Sendable {
        var records = 0
        var rowsStaged = 0
        var rowRejects = 0
        var bytesIn: Int64 = 0
        var bytesDecoded: Int64 = 0
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

    func read(path: String, fileNumber: Int, stats: inout Stats, emit: ([UInt8]) throws -> Void) throws {
        let limits = DecompressionLimits(maxOutputBytes: definition.maxDecompressedBytes, maxRatio: definition.maxCompressionRatio)
        let decoder = try GzipDecoder(source: FileByteSource(path: path), limits: limits)
        var encoder = StageRowEncoder()
        let validator = OrderRowValidator(defaultCurrency: definition.defaultCurrency)
        switch definition.format(forFile: path) {
        case .csv:
            try readCSV(decoder, file: fileNumber, path: path, validator: validator, encoder: &encoder, stats: &stats, emit: emit)
        case .ndjson:
            try readNDJSON(decoder, file: fileNumber, validator: validator, encoder: &encoder, stats: &stats, emit: emit)
        }
        if !encoder.buffer.isEmpty { try emit(encoder.buffer) }
        stats.bytesIn += decoder.inputBytes
        stats.bytesDecoded += decoder.outputBytes
    }

    private func readCSV(_ source: GzipDecoder<FileByteSource>, file: Int, path: String, validator: OrderRowValidator,
                         encoder: inout StageRowEncoder, stats: inout Stats, emit: ([UInt8]) throws -> Void) throws {
        // Hands a full buffer to the COPY side; a nested function may use the inout encoder.
        func flush() throws {
            if encoder.buffer.count >= chunkSize {
                try emit(encoder.buffer)
                encoder.buffer.removeAll(keepingCapacity: true)
            }
        }
        var options = CSVOptions()
        options.delimiter = definition.delimiter
        let reader = CSVReader(source: source, options: options)
        var headerRecord: CSVRecord?
        while headerRecord == nil {
            guard let r = try reader.next() else { return } // empty file: nothing to read
            if !r.isBlank { headerRecord = r }
        }
        let header = CSVHeader(record: headerRecord!)
        var columns: [String: Int] = [:]
        for field in PipelineDefinition.orderFields + PipelineDefinition.lineFields {
            if let i = header.index(of: definition.column(for: field, format: .csv)) { columns[field] = i }
        }
        var missing = ["customer_id", "product_id", "quantity"].filter { columns[$0] == nil }
            .map { definition.column(for: $0, format: .csv) }
        if columns["order_id"] == nil && columns["external_ref"] == nil {
            missing.append(definition.column(for: "external_ref", format: .csv))
        }
        if !missing.isEmpty { throw MissingColumns(file: path, missing: missing, header: header.names) }
        let width = header.names.count

        while true {
            let next: Result<CSVRecord?, FeedError> = Result { () throws(FeedError) in try reader.next() }
            let record: CSVRecord
            switch next {
            case .success(let r):
                guard let r else { return }
                record = r
            case .failure(let error) where error.code == .unexpectedQuote:
                // The reader resynchronizes at the next line; the broken record is a reject.
                stats.records += 1
                stats.rowRejects += 1
                encoder.appendReject(position: StageRowEncoder.position(file: file, line: error.line ?? 0), orderKey: nil,
                                     reason: .malformedRecord, message: error.reason)
                try flush()
                continue
            case .failure(let error):
                throw error
            }
            if record.isBlank { continue }
            stats.records += 1
            let position = StageRowEncoder.position(file: file, line: record.line)
            let get: (String) -> RawField = { field in
                guard let i = columns[field], i < record.count else { return .absent }
                let bytes = record[i]
                if bytes.isEmpty { return .absent }
                guard let s = String(validating: bytes, as: UTF8.self) else { return .invalidUTF8 }
                return .text(s)
            }
            if record.count != width {
                stats.rowRejects += 1
                encoder.appendReject(position: position, orderKey: validator.orderKey(get), reason: .raggedRow,
                                     message: "record has \(record.count) fields, the header has \(width)")
                try flush()
                continue
            }
            switch validator.order(get) {
            case .failure(let problem):
                stats.rowRejects += 1
                encoder.appendReject(position: position, orderKey: validator.orderKey(get), reason: problem.reason, message: problem.message)
            case .success(var row):
                if row.action == "delete" {
                    encoder.appendRow(row, position: position, recordFirst: true)
                    stats.rowsStaged += 1
                } else if let problem = validator.line(&row, get) {
                    stats.rowRejects += 1
                    encoder.appendReject(position: position, orderKey: row.orderKey, reason: problem.reason, message: problem.message)
                } else {
                    encoder.appendRow(row, position: position, recordFirst: true)
                    stats.rowsStaged += 1
                }
            }
            try flush()
        }
    }

    private func readNDJSON(_ source: GzipDecoder<FileByteSource>, file: Int, validator: OrderRowValidator,
                            encoder: inout StageRowEncoder, stats: inout Stats, emit: ([UInt8]) throws -> Void) throws {
        // Hands a full buffer to the COPY side; a nested function may use the inout encoder.
        func flush() throws {
            if encoder.buffer.count >= chunkSize {
                try emit(encoder.buffer)
                encoder.buffer.removeAll(keepingCapacity: true)
            }
        }
        let reader = NDJSONReader(source: source)
        let keys = Dictionary(uniqueKeysWithValues: (PipelineDefinition.orderFields + PipelineDefinition.lineFields).map { ($0, definition.column(for: $0, format: .ndjson)) })
        let productsKey = definition.mapping["products"] ?? "products"
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
            func getter(_ object: [JSONMember]) -> (String) -> RawField {
                { field in
                    guard let key = keys[field], let value = object.first(where: { $0.key == key })?.value else { return .absent }
                    switch value {
                    case .string(let s): return s.isEmpty ? .absent : .text(s)
                    case .number(let text): return .text(text)
                    case .bool(let b): return .text(b ? "true" : "false")
                    case .null: return .absent
                    case .array, .object: return .text("<\(field) must not be an array or object>")
                    }
                }
            }
            let get = getter(members)
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
            if row.action == "delete" {
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
            for (i, product) in products.enumerated() {
                guard case .object(let fields) = product else {
                    problem = FieldProblem(field: productsKey, reason: .invalidValue("products"), message: "\(productsKey)[\(i)] is not an object")
                    break
                }
                var lineRow = row
                if let p = validator.line(&lineRow, getter(fields)) {
                    problem = FieldProblem(field: p.field, reason: p.reason, message: "\(productsKey)[\(i)]: \(p.message)")
                    break
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
