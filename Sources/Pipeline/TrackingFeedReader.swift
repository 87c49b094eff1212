import Feeds
import Foundation
import OrderModel
import PostgresClient

/// The canonical fields of a tracking feed, by position (see `PipelineDefinition.trackingFields`).
enum TrackingField: Int, CaseIterable {
    case carrier, trackingNumber, eventCode, eventTime, orderId, externalRef, location, description, lineNo, quantity

    var name: String { rawValue < PipelineDefinition.trackingFields.count ? PipelineDefinition.trackingFields[rawValue] : self == .lineNo ? "line_no" : "quantity" }

    /// The field's canonical name in a feed of `kind`: a ship confirmation's time is `shipped_at`.
    func name(in kind: PipelineDefinition.Kind) -> String { kind == .shipments && self == .eventTime ? "shipped_at" : name }

    /// The fields a feed of `kind` may have (the others read as absent).
    static func fields(of kind: PipelineDefinition.Kind) -> [TrackingField] {
        kind == .shipments ? [.orderId, .externalRef, .carrier, .trackingNumber, .eventTime, .lineNo, .quantity]
            : [.carrier, .trackingNumber, .eventCode, .eventTime, .orderId, .externalRef, .location, .description]
    }
}

/// Reads carrier-tracking feeds (CSV or NDJSON, gzip'd or not) record by record, validates and
/// normalizes each event, and hands COPY rows for `stage_events` to `emit` in chunks.
///
/// Memory is bounded by the chunk size and one record: events are never grouped client-side,
/// because one shipment's events may be anywhere in the feed.
struct TrackingFeedReader {
    let definition: PipelineDefinition
    var chunkSize = 1 << 20
    /// A ship confirmation without `shipped_at` was shipped at the run's time.
    var now = Timestamp.now

    /// Reads one input; `progress` gets the input bytes consumed after every chunk.
    func read(path: String, fileNumber: Int, stats: inout OrderFeedReader.Stats, progress: (Int64) -> Void = { _ in },
              emit: ([UInt8]) throws -> Void) throws {
        let limits = DecompressionLimits(maxOutputBytes: definition.maxDecompressedBytes, maxRatio: definition.maxCompressionRatio)
        let decoder = try GzipDecoder(source: FileByteSource(path: path), limits: limits)
        var encoder = TrackingRowEncoder(settings: definition.tracking, shipments: definition.kind == .shipments, now: now)
        // The readers hand the encoder back at every record; a full buffer goes to COPY.
        func flush(_ encoder: inout TrackingRowEncoder, _ force: Bool) throws {
            if encoder.buffer.count >= chunkSize || (force && !encoder.buffer.isEmpty) {
                try emit(encoder.buffer)
                progress(decoder.inputBytes)
                encoder.buffer.removeAll(keepingCapacity: true)
            }
        }
        switch definition.format(forFile: path) {
        case .csv:
            try readCSV(decoder, file: fileNumber, path: path, encoder: &encoder, stats: &stats, flush: { try flush(&$0, false) })
        case .ndjson:
            try readNDJSON(decoder, file: fileNumber, encoder: &encoder, stats: &stats, flush: { try flush(&$0, false) })
        }
        try flush(&encoder, true)
        encoder.addCounts(to: &stats)
        stats.bytesIn += decoder.inputBytes
        stats.bytesDecoded += decoder.outputBytes
    }

    private func readCSV(_ source: GzipDecoder<FileByteSource>, file: Int, path: String, encoder: inout TrackingRowEncoder,
                         stats: inout OrderFeedReader.Stats, flush: (inout TrackingRowEncoder) throws -> Void) throws {
        var options = CSVOptions()
        options.delimiter = definition.delimiter
        let reader = CSVReader(source: source, options: options)
        guard let headerRecord = try reader.nextNonBlank() else { return } // empty file: nothing to read
        let header = CSVHeader(record: headerRecord)
        let kind = definition.kind, fields = Set(TrackingField.fields(of: kind))
        let columns = TrackingField.allCases.map { fields.contains($0) ? header.index(of: definition.column(for: $0.name(in: kind), format: .csv)) ?? -1 : -1 }
        let has = { (f: TrackingField) in columns[f.rawValue] >= 0 }
        var missing = kind == .shipments ? (has(.trackingNumber) ? [] : [TrackingField.trackingNumber])
            : [TrackingField.eventCode, .eventTime].filter { !has($0) }
        if kind == .shipments && !has(.orderId) && !has(.externalRef) {
            missing.append(.externalRef)
        } else if !has(.trackingNumber) && !has(.orderId) && !has(.externalRef) {
            missing.append(.trackingNumber)
        }
        if columns[TrackingField.carrier.rawValue] < 0 && definition.tracking.carrier == nil && columns[TrackingField.trackingNumber.rawValue] >= 0 {
            missing.append(.carrier)
        }
        if !missing.isEmpty {
            throw OrderFeedReader.MissingColumns(file: path, missing: missing.map { definition.column(for: $0.name(in: kind), format: .csv) }, header: header.names)
        }
        let width = header.names.count
        while let next = try reader.nextOrMalformed() {
            let record: CSVRecord
            switch next {
            case .success(let r):
                record = r
            case .failure(let error):
                stats.records += 1
                stats.rowRejects += 1
                encoder.appendReject(position: StageRowEncoder.position(file: file, line: error.line ?? 0), reason: .malformedRecord, message: error.reason)
                try flush(&encoder)
                continue
            }
            stats.records += 1
            let position = StageRowEncoder.position(file: file, line: record.line)
            if record.count != width {
                stats.rowRejects += 1
                encoder.appendReject(position: position, reason: .raggedRow, message: "record has \(record.count) fields, the header has \(width)")
            } else if encoder.append(position: position, { field in
                let i = columns[field.rawValue]
                return i >= 0 ? OrderRowValidator.trimmed(record[i]) : nil
            }) {
                stats.rowsStaged += 1
            } else {
                stats.rowRejects += 1
            }
            try flush(&encoder)
        }
    }

    private func readNDJSON(_ source: GzipDecoder<FileByteSource>, file: Int, encoder: inout TrackingRowEncoder,
                            stats: inout OrderFeedReader.Stats, flush: (inout TrackingRowEncoder) throws -> Void) throws {
        let reader = NDJSONReader(source: source)
        var fieldOfKey: [String: TrackingField] = [:]
        for field in TrackingField.fields(of: definition.kind) { fieldOfKey[definition.column(for: field.name(in: definition.kind), format: .ndjson)] = field }
        var values = [ArraySlice<UInt8>?](repeating: nil, count: TrackingField.allCases.count)
        while let line = try reader.next() {
            stats.records += 1
            let position = StageRowEncoder.position(file: file, line: line.line)
            let members: [JSONMember]
            do {
                members = try line.parseObject()
            } catch {
                stats.rowRejects += 1
                encoder.appendReject(position: position, reason: error.code == .invalidUTF8 ? .invalidUTF8 : .malformedRecord,
                                     message: error.reason + (error.column.map { " (column \($0))" } ?? ""))
                try flush(&encoder)
                continue
            }
            for i in values.indices { values[i] = nil }
            var problem: String?
            for member in members {
                guard let field = fieldOfKey[member.key] else { continue }
                switch member.value {
                case .string(let s): values[field.rawValue] = OrderRowValidator.trimmed(Array(s.utf8)[...])
                case .number(let text): values[field.rawValue] = Array(text.utf8)[...]
                case .null: values[field.rawValue] = nil
                case .bool, .array, .object: problem = "\(member.key) must be text or a number"
                }
            }
            if let problem {
                stats.rowRejects += 1
                encoder.appendReject(position: position, reason: .malformedRecord, message: problem)
            } else if encoder.append(position: position, { values[$0.rawValue] }) {
                stats.rowsStaged += 1
            } else {
                stats.rowRejects += 1
            }
            try flush(&encoder)
        }
    }
}
