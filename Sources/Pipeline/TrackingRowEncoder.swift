import Feeds
import Foundation
import OrderModel
import PostgresClient

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
    /// A shipments feed: each record is a ship confirmation (docs/tracking.md, "Shipments feeds").
    private let shipments: Bool
    private let now: Timestamp

    /// The code a ship confirmation is logged with: it maps to no status (its shipment counts as shipped).
    static let shipConfirmation = Array("ship_confirmation".utf8)[...]

    init(settings: PipelineDefinition.TrackingSettings, shipments: Bool = false, now: Timestamp = .now) {
        self.shipments = shipments
        self.now = now
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
            if let n = e.lineNo { integer(Int64(n)) } else { null() }
            if let n = e.quantity { integer(Int64(n)) } else { null() }
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
        for _ in 0..<12 { null() }
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
        var lineNo: Int?
        var quantity: Int?
    }

    /// A ship confirmation: the order it names (required), its shipment, when it shipped (the
    /// run's time when not given), and optionally which line and how many of it.
    private mutating func validateShipment(_ get: Get) -> Result<Event, FieldProblem> {
        func problem(_ field: TrackingField, _ reason: RejectReason, _ message: String) -> Result<Event, FieldProblem> {
            .failure(FieldProblem(field: field.name(in: .shipments), reason: reason, message: message))
        }
        var time = now
        if let timeBytes = get(.eventTime) {
            switch times.parse(timeBytes) {
            case .success(let t): time = t
            case .failure(.missingZone):
                return problem(.eventTime, .invalidValue("shipped_at"), "shipped_at \"\(OrderRowValidator.text(timeBytes))\" has no zone offset and the pipeline names no shipped_at.zone")
            case .failure:
                return problem(.eventTime, .invalidValue("shipped_at"), "shipped_at \"\(OrderRowValidator.text(timeBytes))\" does not match the format \(times.format)")
            }
        }
        var event = Event(code: Self.shipConfirmation, meaning: .noChange, time: time)
        if case .failure(let p) = reference(get, into: &event) { return .failure(p) }
        guard event.orderId != nil || event.externalRef != nil else {
            return problem(.externalRef, .missingField, "neither order_id nor external_ref is given: the confirmation names no order")
        }
        guard event.trackingNumber != nil else { return problem(.trackingNumber, .missingField, "tracking_number is missing") }
        func positive(_ field: TrackingField, max: Int) -> Result<Int?, FieldProblem> {
            guard let bytes = get(field) else { return .success(nil) }
            guard bytes.count <= 9, !bytes.isEmpty, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(String(decoding: bytes, as: UTF8.self)), (1...max).contains(n) else {
                return .failure(FieldProblem(field: field.name, reason: .invalidValue(field.name), message: "\(field.name) must be a whole number from 1 to \(max), got \"\(OrderRowValidator.text(bytes))\""))
            }
            return .success(n)
        }
        switch positive(.lineNo, max: StageRowEncoder.maxLinesPerOrder) {
        case .failure(let p): return .failure(p)
        case .success(let n): event.lineNo = n
        }
        switch positive(.quantity, max: OrderRules.maxQuantity) {
        case .failure(let p): return .failure(p)
        case .success(let n): event.quantity = n
        }
        if (event.lineNo == nil) != (event.quantity == nil) {
            return problem(.quantity, .missingField, "line_no and quantity go together: give both or neither")
        }
        return .success(event)
    }

    private mutating func validate(_ get: Get) -> Result<Event, FieldProblem> {
        for field in TrackingField.allCases {
            if let v = get(field), !OrderRowValidator.isUTF8(v) {
                return .failure(FieldProblem(field: field.name, reason: .invalidUTF8, message: "\(field.name) is not valid UTF-8"))
            }
        }
        if shipments { return validateShipment(get) }
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
        if case .failure(let p) = reference(get, into: &event) { return .failure(p) }
        if event.trackingNumber == nil && event.orderId == nil && event.externalRef == nil {
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

    /// The order (id or external ref) and the shipment (carrier, tracking number) a record names.
    private mutating func reference(_ get: Get, into event: inout Event) -> Result<Void, FieldProblem> {
        func problem(_ field: TrackingField, _ reason: RejectReason, _ message: String) -> Result<Void, FieldProblem> {
            .failure(FieldProblem(field: field.name, reason: reason, message: message))
        }
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
        }
        return .success(())
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
