import Feeds
import Foundation
import OrderModel

/// Writes synthetic, deterministic carrier-tracking feeds for the orders that
/// `OrderFeedGenerator(orders:seed:)` writes: events for their shipments (matched by carrier
/// and tracking number), in the canonical shape or shaped like one carrier's own export.
///
/// Each shipment's events move its order forward along legal transitions, a few hours apart,
/// and are written in shuffled order (feeds are not sorted); the latest one is the order's
/// expected final status, which `forEachShipment` exposes to tests.
public struct TrackingFeedGenerator: Sendable {
    /// Feed layouts: the canonical CSV/NDJSON (AfterShip tags as codes) or a carrier's export.
    public enum Style: String, Sendable, CaseIterable {
        case csv, ndjson, fedex, ups, dhl, usps

        /// The carrier whose shipments a carrier-shaped feed holds; `nil`: all carriers.
        public var carrier: String? {
            switch self {
            case .csv, .ndjson: nil
            case .fedex: "FedEx"
            case .ups: "UPS"
            case .dhl: "DHL"
            case .usps: "USPS"
            }
        }
    }

    /// One generated event.
    public struct Event: Sendable, Equatable {
        public var carrier: String
        public var trackingNumber: String
        public var status: OrderStatus
        public var code: String
        public var description: String
        public var location: String
        /// Whole minutes, so every carrier's time format can carry it exactly.
        public var time: Timestamp
        /// Set on an event that names its order (the canonical feed's `external_ref`).
        public var externalRef: String?
    }

    public let orders: Int
    public let seed: UInt64
    public var style: Style
    /// Mean events per shipment (at least 1).
    public var eventsPerShipment: Double = 1.5
    /// Share of extra events for tracking numbers no order has (rejected `unknown_shipment`).
    public var unknownRate: Double = 0
    /// Share of extra events with a code the carrier's pipeline does not map.
    public var unknownCodeRate: Double = 0
    /// Canonical styles only: orders still `processing` get a first scan that names the order
    /// by external ref and attaches its new tracking number, at this rate.
    public var attachRate: Double = 0
    public var prefix = "ERP"
    public var startRef = 1
    public var gzipLevel: Int32 = 6
    /// Shipments of a later snapshot of the order feed (as `OrderFeedGenerator.laterSnapshot`).
    public var mutation: OrderFeedGenerator.Mutation?

    public init(orders: Int, seed: UInt64, style: Style) {
        self.orders = orders
        self.seed = seed
        self.style = style
    }

    /// What a write produced.
    public struct Summary: Sendable {
        public var shipments = 0
        public var events = 0
        public var unknownShipments = 0
        public var unknownCodes = 0
        public var fileBytes: Int64 = 0
    }

    /// Calls `body` with each shipment's events (in time order) and its order's external ref.
    public func forEachShipment(_ body: (_ externalRef: String, _ events: [Event]) throws -> Void) throws {
        var base = OrderFeedGenerator(orders: orders, seed: seed, prefix: prefix, startRef: startRef)
        base.mutation = mutation
        var scratch: [UInt8] = []
        let capture = OutputBuffer(seed: seed) { scratch.append(contentsOf: $0) }
        var summary = OrderFeedGenerator.Summary()
        try base.forEachOrder(summary: &summary) { order in
            var random = SplitMix64(seed: seed, stream: 7, index: order.index)
            let carrier = OrderFeedGenerator.carriers[order.carrier]
            if let only = style.carrier, only != carrier { return }
            let ref = "\(prefix)-\(String(repeating: "0", count: max(0, 6 - String(order.ref).count)))\(order.ref)"
            var attach = false
            var o = order
            if !o.hasTracking {
                guard style.carrier == nil, o.status == .processing, random.unit() < attachRate else { return }
                attach = true
                o.hasTracking = true
                o.trackingVersion = 1
            }
            scratch.removeAll(keepingCapacity: true)
            capture.trackingNumber(o)
            try capture.flush()
            let number = String(decoding: scratch, as: UTF8.self)
            let count = 1 + Int(eventsPerShipment - 1) + (random.unit() < (eventsPerShipment - 1).truncatingRemainder(dividingBy: 1) ? 1 : 0)
            // November 2026, after every generated order was created.
            var minutes = Int64(Timestamp.daysSinceEpoch(year: 2026, month: 11, day: 2)) * 1440 + Int64(random.below(20 * 1440))
            var status = o.status
            var events: [Event] = []
            for i in 0..<count {
                var next = base.nextStatus(after: status, random: &random) ?? status
                if attach && i == 0 { next = .shipped }
                // Most delivered parcels stay delivered: a later scan confirms it.
                if status == .delivered && random.below(10) != 0 { next = .delivered }
                // Carriers never cancel an order: that move is the shop's, not the shipment's.
                if next == .cancelled { next = status }
                status = next
                let (code, text) = Self.code(for: status, style: style, random: &random)
                events.append(Event(carrier: carrier, trackingNumber: number, status: status, code: code, description: text,
                                    location: Self.locations[random.below(Self.locations.count)], time: Timestamp(microseconds: minutes * 60_000_000),
                                    externalRef: attach && i == 0 ? ref : nil))
                minutes += 30 + Int64(random.below(36 * 60))
            }
            if !events.isEmpty { try body(ref, events) }
        }
    }

    /// Writes the feed to `path`, gzip'd when `gzip`.
    @discardableResult
    public func write(to path: String, gzip: Bool) throws -> Summary {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FeedError(.io, source: path, reason: "cannot create: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var fileBytes: Int64 = 0
        let sink: (UnsafeRawBufferPointer) throws -> Void = { bytes in
            try writeAll(fd, bytes, name: path)
            fileBytes += Int64(bytes.count)
        }
        let gz: GzipWriter? = gzip ? try GzipWriter(level: gzipLevel, name: path, outputChunkSize: 1 << 20, sink: sink) : nil
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        func flush(force: Bool = false) throws {
            guard buffer.count >= 1 << 20 || (force && !buffer.isEmpty) else { return }
            try buffer.withUnsafeBytes { bytes in
                if let gz { try gz.write(bytes) } else { try sink(bytes) }
            }
            buffer.removeAll(keepingCapacity: true)
        }
        var summary = Summary()
        buffer.append(contentsOf: header.utf8)
        var random = SplitMix64(seed: seed, stream: 8, index: 0)
        var order: [Int] = []
        try forEachShipment { _, events in
            summary.shipments += 1
            // Feeds are not sorted: a shipment's events come in any order.
            order = Array(events.indices)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, random.below(i + 1)) }
            for i in order {
                buffer.append(contentsOf: line(events[i]).utf8)
                summary.events += 1
            }
            if random.unit() < unknownRate {
                var e = events[0]
                e.trackingNumber = "UNKNOWN\(random.below(1_000_000_000))"
                e.externalRef = nil
                buffer.append(contentsOf: line(e).utf8)
                summary.unknownShipments += 1
                summary.events += 1
            }
            if random.unit() < unknownCodeRate {
                var e = events[events.count - 1]
                e.code = "ZZ9"
                e.externalRef = nil
                buffer.append(contentsOf: line(e).utf8)
                summary.unknownCodes += 1
                summary.events += 1
            }
            try flush()
        }
        try flush(force: true)
        try gz?.finish()
        summary.fileBytes = fileBytes
        return summary
    }

    // MARK: Shapes

    var header: String {
        switch style {
        case .csv: "carrier,tracking_number,event_code,event_time,order_id,external_ref,location,description\n"
        case .ndjson: ""
        case .fedex: "Tracking Number,Status Code,Status,Scan Date/Time,Scan Location,Shipper Reference\n"
        case .ups: "Tracking Number;Status Type;Activity;Activity Location;Activity Date Time\n"
        case .dhl: ""
        case .usps: "Tracking ID\tEvent Code\tEvent\tEvent Date\tEvent Location\n"
        }
    }

    func line(_ e: Event) -> String {
        switch style {
        case .csv:
            return "\(e.carrier),\(e.trackingNumber),\(e.code),\(e.time.rfc3339Seconds),,\(e.externalRef ?? ""),\(Self.csvQuoted(e.location)),\(Self.csvQuoted(e.description))\n"
        case .ndjson:
            let ref = e.externalRef.map { ",\"externalRef\":\"\($0)\"" } ?? ""
            return "{\"carrier\":\"\(e.carrier)\",\"trackingNumber\":\"\(e.trackingNumber)\",\"eventCode\":\"\(e.code)\",\"eventTime\":\"\(e.time.rfc3339Seconds)\"\(ref),\"location\":\"\(e.location)\",\"description\":\"\(e.description)\"}\n"
        case .fedex:
            // Central time with its offset, as FedEx's reports print it.
            return "\(e.trackingNumber),\(e.code),\(e.description),\(Self.local(e.time, zone: "America/Chicago", withOffset: true)),\(Self.csvQuoted(e.location.uppercased())),\n"
        case .ups:
            return "\(e.trackingNumber);\(e.code);\(e.description.uppercased());\(e.location.uppercased());\(Self.local(e.time, zone: "America/New_York", pattern: "compact"))\n"
        case .dhl:
            return "{\"awb\":\"\(e.trackingNumber)\",\"checkpointCode\":\"\(e.code)\",\"checkpointTime\":\(e.time.microseconds / 1000),\"checkpointLocation\":\"\(e.location.uppercased())\",\"description\":\"\(e.description)\"}\n"
        case .usps:
            return "\(e.trackingNumber)\t\(e.code)\t\(e.description.uppercased())\t\(Self.local(e.time, zone: "America/Chicago", pattern: "us12"))\t\(e.location.uppercased())\n"
        }
    }

    static func csvQuoted(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// Wall-clock time in `zone`: `2026-11-03T08:05:00-06:00`, `20261103 090500` or `11/3/2026 8:05 AM`.
    static func local(_ t: Timestamp, zone: String, withOffset: Bool = false, pattern: String = "") -> String {
        let seconds = t.microseconds / 1_000_000
        let offset = Int64(TimeZone(identifier: zone)!.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds))))
        let local = seconds + offset
        let days = Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
        let (y, m, d) = Timestamp.civil(daysSinceEpoch: days)
        let ofDay = Int(local - Int64(days) * 86_400)
        let (hh, mm, ss) = (ofDay / 3600, ofDay / 60 % 60, ofDay % 60)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        if withOffset {
            let sign = offset < 0 ? "-" : "+"
            let o = Int(abs(offset))
            return "\(y)-\(two(m))-\(two(d))T\(two(hh)):\(two(mm)):\(two(ss))\(sign)\(two(o / 3600)):\(two(o / 60 % 60))"
        }
        if pattern == "compact" { return "\(y)\(two(m))\(two(d)) \(two(hh))\(two(mm))\(two(ss))" }
        let h12 = hh % 12 == 0 ? 12 : hh % 12
        return "\(m)/\(d)/\(y) \(h12):\(two(mm)) \(hh < 12 ? "AM" : "PM")"
    }

    static let locations = ["Memphis, TN", "Louisville, KY", "Indianapolis, IN", "Chicago, IL", "Dallas, TX", "Atlanta, GA",
                            "Newark, NJ", "Oakland, CA", "Leipzig, DE", "Ontario, CA", "Denver, CO", "Seattle, WA"]

    /// A raw code the style's pipeline maps to `status`, and its carrier's wording.
    static func code(for status: OrderStatus, style: Style, random: inout SplitMix64) -> (String, String) {
        let options = codes[style]!.filter { $0.status == status }
        guard !options.isEmpty else { return (status.rawValue, status.rawValue) }
        let pick = options[random.below(options.count)]
        return (pick.code, pick.text)
    }

    /// Each style's raw codes, the same tables its pipeline file maps (pipelines/tracking-*.yaml).
    static let codes: [Style: [(code: String, status: OrderStatus, text: String)]] = [
        .csv: aftership, .ndjson: aftership,
        .fedex: [("OC", .shipped, "Shipment information sent to FedEx"), ("PU", .inTransit, "Picked up"),
                 ("AR", .inTransit, "Arrived at FedEx location"), ("DP", .inTransit, "Departed FedEx location"),
                 ("IT", .inTransit, "In transit"), ("OD", .outForDelivery, "On FedEx vehicle for delivery"),
                 ("HL", .availableForPickup, "Ready for pickup at FedEx location"), ("DE", .failedAttempt, "Delivery exception: customer not available"),
                 ("SE", .exception, "Shipment exception"), ("DL", .delivered, "Delivered"), ("RS", .returned, "Returned to shipper")],
        .ups: [("M", .shipped, "Shipper created a label"), ("P", .inTransit, "Pickup scan"), ("I", .inTransit, "Departed from facility"),
               ("OT", .outForDelivery, "Out for delivery today"), ("AP", .availableForPickup, "Delivered to UPS Access Point"),
               ("DA", .failedAttempt, "Delivery attempted"), ("X", .exception, "Exception: weather delay"), ("D", .delivered, "Delivered"),
               ("RS", .returned, "Returned to sender")],
        .dhl: [("SA", .shipped, "Shipment information received"), ("PU", .inTransit, "Shipment picked up"),
               ("PL", .inTransit, "Processed at facility"), ("DF", .inTransit, "Departed facility"), ("AR", .inTransit, "Arrived at facility"),
               ("WC", .outForDelivery, "With delivery courier"), ("SP", .availableForPickup, "Ready for collection at service point"),
               ("NH", .failedAttempt, "Not home, delivery attempted"), ("OH", .exception, "On hold"), ("OK", .delivered, "Delivered"),
               ("RT", .returned, "Returned to shipper")],
        .usps: [("MA", .shipped, "Shipping label created, USPS awaiting item"), ("03", .inTransit, "Accepted at USPS origin facility"),
                ("10", .inTransit, "Processed through facility"), ("07", .inTransit, "Arrived at post office"),
                ("OF", .outForDelivery, "Out for delivery"), ("16", .availableForPickup, "Available for pickup"),
                ("02", .failedAttempt, "Notice left (no authorized recipient available)"), ("21", .exception, "No such number"),
                ("01", .delivered, "Delivered"), ("09", .returned, "Return to sender")],
    ]

    /// The canonical feed's codes: AfterShip tags, with the status each maps to.
    public static let aftership: [(code: String, status: OrderStatus, text: String)] = [
        ("InfoReceived", .shipped, "Label created"), ("InTransit", .inTransit, "In transit"), ("OutForDelivery", .outForDelivery, "Out for delivery"),
        ("AvailableForPickup", .availableForPickup, "Available for pickup"), ("AttemptFail", .failedAttempt, "Delivery attempt failed"),
        ("Exception", .exception, "Exception"), ("Delivered", .delivered, "Delivered"), ("ReturnToSender", .returned, "Returned to sender"),
    ]
}

extension Timestamp {
    /// `2026-11-03T14:05:00Z`: whole seconds, UTC.
    var rfc3339Seconds: String {
        let text = description // …T14:05:00.000Z
        return String(text.dropLast(5)) + "Z"
    }
}
