import Feeds
import Foundation
import OrderModel
import PostgresClient

/// The canonical fields of a tracking feed, by position (see `PipelineDefinition.trackingFields`).
enum TrackingField: Int, CaseIterable {
    case carrier, trackingNumber, eventCode, eventTime, orderId, externalRef, location, description

    var name: String { PipelineDefinition.trackingFields[rawValue] }
}

/// Reads carrier-tracking feeds (CSV or NDJSON, gzip'd or not) record by record, validates and
/// normalizes each event, and hands COPY rows for `stage_events` to `emit` in chunks.
///
/// Memory is bounded by the chunk size and one record: events are never grouped client-side,
/// because one shipment's events may be anywhere in the feed.
struct TrackingFeedReader {
    let definition: PipelineDefinition
    var chunkSize = 1 << 20

    /// Reads one input; `progress` gets the input bytes consumed after every chunk.
    func read(path: String, fileNumber: Int, stats: inout OrderFeedReader.Stats, progress: (Int64) -> Void = { _ in },
              emit: ([UInt8]) throws -> Void) throws {
        let limits = DecompressionLimits(maxOutputBytes: definition.maxDecompressedBytes, maxRatio: definition.maxCompressionRatio)
        let decoder = try GzipDecoder(source: FileByteSource(path: path), limits: limits)
        var encoder = TrackingRowEncoder(settings: definition.tracking)
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
        let columns = TrackingField.allCases.map { header.index(of: definition.column(for: $0.name, format: .csv)) ?? -1 }
        var missing = [TrackingField.eventCode, .eventTime].filter { columns[$0.rawValue] < 0 }
        if columns[TrackingField.trackingNumber.rawValue] < 0 && columns[TrackingField.orderId.rawValue] < 0
            && columns[TrackingField.externalRef.rawValue] < 0 {
            missing.append(.trackingNumber)
        }
        if columns[TrackingField.carrier.rawValue] < 0 && definition.tracking.carrier == nil && columns[TrackingField.trackingNumber.rawValue] >= 0 {
            missing.append(.carrier)
        }
        if !missing.isEmpty {
            throw OrderFeedReader.MissingColumns(file: path, missing: missing.map { definition.column(for: $0.name, format: .csv) }, header: header.names)
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
        for field in TrackingField.allCases { fieldOfKey[definition.column(for: field.name, format: .ndjson)] = field }
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

/// Validates one event and writes its `stage_events` row (see `TrackingDiffSQL.createEvents`):
/// the carrier and tracking number normalized, the raw code mapped to a status, the event time
/// as epoch microseconds, or the reject reason and message.
struct TrackingRowEncoder {
    var buffer: [UInt8] = []
    private let defaultCarrier: [UInt8]?
    private let codes: [ArraySlice<UInt8>: EventMeaning]?
    private let times: EventTimeParser
    private var carriers = CarrierNameCache()
    private var aggregatorCodes: [ArraySlice<UInt8>: EventMeaning?] = [:]
    // Accepted events per carrier and per status rank (the last slot: no status), counted here
    // so the database need not scan the staged events for the report.
    private var perCarrier: [ArraySlice<UInt8>: Int] = [:]
    private var perRank = [Int](repeating: 0, count: OrderStatus.allCases.count + 1)

    init(settings: PipelineDefinition.TrackingSettings) {
        defaultCarrier = settings.carrier.map { Array($0.utf8) }
        codes = settings.eventCodes.map { table in
            Dictionary(uniqueKeysWithValues: table.map { (Array($0.key.utf8)[...], $0.value) })
        }
        times = EventTimeParser(settings.eventTime)
        buffer.reserveCapacity(1 << 20)
    }

    typealias Get = (TrackingField) -> ArraySlice<UInt8>?

    /// Appends the event's staging row, or its reject row; true when the event was accepted.
    mutating func append(position: Int64, _ get: Get) -> Bool {
        switch validate(get) {
        case .failure(let problem):
            appendReject(position: position, reason: problem.reason, message: problem.message)
            return false
        case .success(let e):
            integer(position)
            text(e.carrier)
            text(e.trackingNumber)
            text(e.code)
            perCarrier[e.carrier ?? [], default: 0] += 1
            if case .status(let s) = e.meaning {
                buffer.append(contentsOf: Self.statusField[s.progressRank])
                buffer.append(UInt8(ascii: "0") + UInt8(s.progressRank))
                buffer.append(0x09)
                perRank[s.progressRank] += 1
            } else {
                null()
                null()
                perRank[perRank.count - 1] += 1
            }
            integer(e.time.microseconds)
            if let id = e.orderId { buffer.append(contentsOf: id); buffer.append(0x09) } else { null() }
            text(e.externalRef)
            text(e.location)
            text(e.description)
            null()
            null(last: true)
            return true
        }
    }

    /// Adds this encoder's per-carrier and per-status counts to `stats`.
    func addCounts(to stats: inout OrderFeedReader.Stats) {
        for (carrier, n) in perCarrier {
            stats.eventsByCarrier[carrier.isEmpty ? "(none)" : String(decoding: carrier, as: UTF8.self), default: 0] += n
        }
        for status in OrderStatus.allCases where perRank[status.progressRank] > 0 {
            stats.eventsByStatus[status.rawValue, default: 0] += perRank[status.progressRank]
        }
        if perRank[perRank.count - 1] > 0 { stats.eventsByStatus["none", default: 0] += perRank[perRank.count - 1] }
    }

    mutating func appendReject(position: Int64, reason: RejectReason, message: String) {
        integer(position)
        for _ in 0..<10 { null() }
        text(Array(reason.code.utf8)[...])
        text(Array(message.utf8)[...], last: true)
    }

    private struct Event {
        var carrier: ArraySlice<UInt8>?
        var trackingNumber: ArraySlice<UInt8>?
        var code: ArraySlice<UInt8>
        var meaning: EventMeaning
        var time: Timestamp
        var orderId: [UInt8]?
        var externalRef: ArraySlice<UInt8>?
        var location: ArraySlice<UInt8>?
        var description: ArraySlice<UInt8>?
    }

    private mutating func validate(_ get: Get) -> Result<Event, FieldProblem> {
        for field in TrackingField.allCases {
            if let v = get(field), !OrderRowValidator.isUTF8(v) {
                return .failure(FieldProblem(field: field.name, reason: .invalidUTF8, message: "\(field.name) is not valid UTF-8"))
            }
        }
        func problem(_ field: TrackingField, _ reason: RejectReason, _ message: String) -> Result<Event, FieldProblem> {
            .failure(FieldProblem(field: field.name, reason: reason, message: message))
        }
        guard let code = get(.eventCode) else { return problem(.eventCode, .missingField, "event_code is missing") }
        let meaning: EventMeaning
        if let codes {
            guard let m = codes[code] else {
                return problem(.eventCode, .unknownEventCode, "event code \"\(OrderRowValidator.text(code))\" is not mapped under event_codes in the pipeline")
            }
            meaning = m
        } else {
            let known: EventMeaning?
            if let cached = aggregatorCodes[code] {
                known = cached
            } else {
                known = TrackingTag(aggregatorCode: String(decoding: code, as: UTF8.self)).map { $0.orderStatus.map(EventMeaning.status) ?? .noChange }
                if aggregatorCodes.count < 10_000 { aggregatorCodes[code] = .some(known) }
            }
            guard let m = known else {
                return problem(.eventCode, .unknownEventCode, "event code \"\(OrderRowValidator.text(code))\" is not an AfterShip tag or EasyPost status; map the carrier's codes under event_codes")
            }
            meaning = m
        }
        guard let timeBytes = get(.eventTime) else { return problem(.eventTime, .missingField, "event_time is missing") }
        let time: Timestamp
        switch times.parse(timeBytes) {
        case .success(let t): time = t
        case .failure(.missingZone):
            return problem(.eventTime, .invalidValue("event_time"), "event_time \"\(OrderRowValidator.text(timeBytes))\" has no zone offset and the pipeline names no event_time.zone")
        case .failure:
            return problem(.eventTime, .invalidValue("event_time"), "event_time \"\(OrderRowValidator.text(timeBytes))\" does not match the format \(times.format)")
        }
        var event = Event(code: code, meaning: meaning, time: time)
        if let id = get(.orderId) {
            guard let uuid = OrderRowValidator.normalizedUUID(id) else {
                return problem(.orderId, .invalidValue("order_id"), "order_id \"\(OrderRowValidator.text(id))\" is not a UUID")
            }
            event.orderId = uuid
        }
        if let ref = get(.externalRef) {
            if let p = OrderRules.checkIdentifier(utf8: ref, field: "external_ref") { return .failure(p) }
            event.externalRef = ref
        }
        if let number = get(.trackingNumber) {
            if let p = OrderRules.checkIdentifier(utf8: number, field: "tracking_number") { return .failure(p) }
            event.trackingNumber = CarrierNameCache.normalizedTrackingNumber(number)
            if let carrier = get(.carrier) {
                if let p = OrderRules.checkIdentifier(utf8: carrier, field: "carrier") { return .failure(p) }
                event.carrier = carriers.canonical(carrier)
            } else if let defaultCarrier {
                event.carrier = defaultCarrier[...]
            } else {
                return problem(.carrier, .missingField, "carrier is missing (the tracking number alone does not say whose it is)")
            }
        } else if event.orderId == nil && event.externalRef == nil {
            return problem(.trackingNumber, .missingField, "none of tracking_number, order_id and external_ref is given: the event names no shipment")
        }
        if let location = get(.location) {
            guard location.count <= 1000 else { return problem(.location, .fieldTooLong, "location is \(location.count) bytes, at most 1000 allowed") }
            event.location = location
        }
        if let description = get(.description) {
            guard description.count <= 1000 else { return problem(.description, .fieldTooLong, "description is \(description.count) bytes, at most 1000 allowed") }
            event.description = description
        }
        return .success(event)
    }

    // MARK: COPY text

    private mutating func null(last: Bool = false) {
        buffer.append(0x5C)
        buffer.append(0x4E)
        buffer.append(last ? 0x0A : 0x09)
    }

    private mutating func text(_ value: ArraySlice<UInt8>?, last: Bool = false) {
        guard let value else { return null(last: last) }
        CopyTextFormat.appendEscaped(value, to: &buffer)
        buffer.append(last ? 0x0A : 0x09)
    }

    /// Decimal digits and a tab, without making a String per value.
    private mutating func integer(_ value: Int64) {
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var rest = value.magnitude
        var digits = 1
        var probe = rest
        while probe >= 10 { probe /= 10; digits += 1 }
        buffer.append(contentsOf: repeatElement(0, count: digits))
        var i = buffer.count - 1
        repeat {
            buffer[i] = UInt8(rest % 10) + 0x30
            rest /= 10
            i -= 1
        } while rest > 0
        buffer.append(0x09)
    }

    /// Each status's text and a tab, indexed by `progressRank`.
    private static let statusField: [[UInt8]] = OrderStatus.allCases.sorted { $0.progressRank < $1.progressRank }
        .map { Array($0.rawValue.utf8) + [0x09] }
}

/// Carrier names as the feeds spell them → the canonical name's bytes. Feeds repeat a handful
/// of spellings, so each is normalized once per reader.
struct CarrierNameCache {
    private var names: [ArraySlice<UInt8>: [UInt8]] = [:]

    mutating func canonical(_ raw: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        if let known = names[raw] { return known[...] }
        let name = Array((Carrier.normalizedName(String(decoding: raw, as: UTF8.self)) ?? "").utf8)
        if names.count < 10_000 { names[raw] = name }
        return name[...]
    }

    /// Trimmed (by the reader) and upper-cased, as `Carrier.normalizedTrackingNumber` does.
    static func normalizedTrackingNumber(_ raw: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard raw.contains(where: { $0 >= 0x61 && $0 <= 0x7A }) else { return raw }
        return Array(raw.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 })[...]
    }
}
