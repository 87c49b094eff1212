import Foundation
import OrderModel
import DefinitionFile

/// A pipeline file (`pipelines/*.yaml`): what to read, how to map it, and how careful to be.
public struct PipelineDefinition: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case orders, tracking, shipments, export
        /// Kinds whose records are carrier events or ship confirmations (docs/tracking.md).
        public var readsEvents: Bool { self == .tracking || self == .shipments }
    }
    public enum Mode: String, Sendable, CaseIterable { case upsert, mirror }
    public enum Format: String, Sendable, CaseIterable { case csv, ndjson }

    public var name: String
    public var kind: Kind
    /// Scope of `external_ref` and of mirror deletes.
    public var source: String
    /// `nil`: decided per file by its name (`.ndjson`, `.jsonl` → NDJSON, else CSV).
    public var format: Format?
    public var delimiter: UInt8 = UInt8(ascii: ",")
    public var maxDecompressedBytes: Int64 = 64 << 30
    public var maxCompressionRatio: Int64 = 1000
    /// Canonical field → the feed's column (CSV header) or key (NDJSON).
    public var mapping: [String: String] = [:]
    public var mode: Mode = .upsert
    /// When false (migrations), any status may be set.
    public var enforceTransitions = true
    public var defaultCurrency: String?
    public var guards = Guards()
    /// Where the file came from (for messages).
    public var file: String = "<memory>"
    /// How a `kind: tracking` pipeline reads carriers' events.
    public var tracking = TrackingSettings()
    /// The directory `orderflow run --inbox` takes new files from (docs/operations.md).
    public var inbox: InboxSettings?
    /// The webhooks told when a run ends (docs/notifications.md).
    public var notify: [WebhookDefinition] = []

    /// An inbox: which files of a directory are feeds, and where they go once run.
    public struct InboxSettings: Sendable, Equatable {
        /// Relative paths are relative to the current directory, like input files.
        public var directory: String
        /// A shell pattern (`fnmatch`) on file names.
        public var pattern = "*"
        /// Where applied (and already applied) files are moved; relative to `directory`.
        public var processed = "processed"
        /// Where failed and aborted files are moved; relative to `directory`.
        public var failed = "failed"
        /// A file is taken only when it has not been modified for this long (0: at once).
        public var settleSeconds = 10.0
        public init(directory: String) { self.directory = directory }
    }

    /// A carrier's export: its carrier (when the feed has no carrier column), its time format,
    /// and what each raw event code means.
    public struct TrackingSettings: Sendable, Equatable {
        /// Carrier of every event when the feed has no `carrier` column (one carrier's own export).
        public var carrier: String?
        public var eventTime = EventTimeFormat.rfc3339
        /// Raw code → meaning. `nil`: the codes are AfterShip tags or EasyPost statuses themselves.
        public var eventCodes: [String: EventMeaning]?
        /// Days an event that matches nothing is held for a later run; 0: rejected `unknown_shipment`.
        public var holdDays = 30
        /// An event older than a shipment by more than this does not match it (a reused number).
        public var matchWindowDays = 180
        /// A tracking number on several orders (a consolidated shipment) moves each, or is rejected.
        public var sharedTracking = SharedTracking.moveEach
        public enum SharedTracking: String, Sendable, CaseIterable { case moveEach = "move_each", reject }
        public init() {}
    }

    /// Limits that abort a run (exit 3) before anything is applied.
    public struct Guards: Sendable, Equatable {
        public enum RejectLimit: Sendable, Equatable {
            case count(Int)
            case percent(Double)
        }
        public var maxRejects: RejectLimit = .count(0)
        /// Largest share of the source's orders a mirror run may delete.
        public var maxDeleteRatio: Double = 0.05
        public init() {}
    }

    /// The canonical fields of an order feed, CSV names (NDJSON uses camelCase, see `jsonKey`).
    public static let orderFields = ["order_id", "external_ref", "action", "customer_id", "status", "currency",
                                     "created_at", "tracking_company", "tracking_number"]
    public static let lineFields = ["product_id", "quantity", "unit_price"]
    /// The canonical fields of a tracking feed.
    public static let trackingFields = ["carrier", "tracking_number", "event_code", "event_time", "order_id", "external_ref",
                                        "location", "description"]
    /// The canonical fields of a shipments feed (ERP ship confirmations).
    public static let shipmentFields = ["order_id", "external_ref", "carrier", "tracking_number", "shipped_at", "line_no", "quantity"]

    /// NDJSON key of a canonical field (`customer_id` → `customerId`).
    public static func jsonKey(_ field: String) -> String { FieldName.jsonKey(field) }

    /// The feed's name for a canonical field, after the mapping.
    public func column(for field: String, format: Format) -> String {
        mapping[field] ?? (format == .csv ? field : Self.jsonKey(field))
    }

    public func format(forFile path: String) -> Format {
        if let format { return format }
        let lower = path.lowercased()
        return lower.contains(".ndjson") || lower.contains(".jsonl") ? .ndjson : .csv
    }

    public init(name: String, kind: Kind = .orders, source: String) {
        self.name = name
        self.kind = kind
        self.source = source
    }
}

extension PipelineDefinition: YAMLDefinition {
    /// Parses YAML text; every unknown key is an error (a typo must not be ignored silently).
    public static func parse(yaml: String, file: String = "<memory>") throws -> PipelineDefinition {
        var reader = try YAMLMap.root(yaml: yaml, file: file, expected: "a mapping with name, kind, source, …")
        let fail = reader.fail
        try reader.allowOnly(["name", "kind", "source", "input", "mapping", "mode", "enforce_transitions", "defaults", "guards", "description",
                              "carrier", "event_time", "event_codes", "hold_days", "match_window_days", "shared_tracking", "shipped_at", "inbox", "notify"])

        var def = PipelineDefinition(name: try reader.string("name", required: true)!, source: "")
        guard let kind = Kind(rawValue: try reader.string("kind", required: true)!) else {
            throw fail("kind", "one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        def.kind = kind
        def.file = file
        def.source = try reader.string("source", required: kind != .export) ?? ""
        if def.source.isEmpty && kind != .export { throw fail("source", "a non-empty source name") }
        if let mode = try reader.string("mode") {
            guard let m = Mode(rawValue: mode) else { throw fail("mode", "upsert or mirror") }
            def.mode = m
        }
        if let enforce = try reader.bool("enforce_transitions") { def.enforceTransitions = enforce }

        if var input = try reader.child("input") {
            try input.allowOnly(["format", "delimiter", "max_decompressed_bytes", "max_compression_ratio"])
            if let f = try input.string("format") {
                guard let format = Format(rawValue: f) else { throw fail("input.format", "csv or ndjson") }
                def.format = format
            }
            if let d = try input.string("delimiter") {
                let bytes = d == "\\t" ? [UInt8(0x09)] : Array(d.utf8)
                guard bytes.count == 1, bytes[0] != UInt8(ascii: "\""), bytes[0] != 0x0A, bytes[0] != 0x0D else {
                    throw fail("input.delimiter", "a single character other than a quote or newline")
                }
                def.delimiter = bytes[0]
            }
            if let n = try input.int("max_decompressed_bytes") { def.maxDecompressedBytes = Int64(n) }
            if let n = try input.int("max_compression_ratio") { def.maxCompressionRatio = Int64(n) }
        }
        if kind.readsEvents {
            try parseTracking(&reader, into: &def, fail: fail)
        } else if let key = ["carrier", "event_time", "event_codes", "hold_days", "match_window_days", "shared_tracking", "shipped_at"].first(where: { reader.map[$0] != nil }) {
            throw fail(key, "nothing: it belongs to kind: tracking and kind: shipments pipelines")
        }
        if let mapping = try reader.child("mapping") {
            let known = Set(kind == .tracking ? trackingFields : kind == .shipments ? shipmentFields : orderFields + lineFields)
            for (key, value) in mapping.map {
                guard known.contains(key) else {
                    throw fail("mapping.\(key)", "a canonical field (\(known.sorted().joined(separator: ", ")))")
                }
                guard let column = value as? String, !column.isEmpty else { throw fail("mapping.\(key)", "the feed's column name as text") }
                def.mapping[key] = column
            }
        }
        if var defaults = try reader.child("defaults") {
            try defaults.allowOnly(["currency"])
            if let c = try defaults.string("currency") {
                guard OrderRules.checkCurrency(c) == nil else { throw fail("defaults.currency", "an ISO 4217 currency code") }
                def.defaultCurrency = c
            }
        }
        def.notify = try WebhookDefinition.list(in: reader)
        if var inbox = try reader.child("inbox") {
            def.inbox = try parseInbox(&inbox, fail: fail)
        }
        if var guards = try reader.child("guards") {
            try guards.allowOnly(["max_rejects", "max_delete_ratio"])
            if let raw = guards.map["max_rejects"] {
                if let n = raw as? Int, n >= 0 {
                    def.guards.maxRejects = .count(n)
                } else if let s = raw as? String, s.hasSuffix("%"), let p = Double(s.dropLast()), p >= 0, p <= 100 {
                    def.guards.maxRejects = .percent(p)
                } else {
                    throw fail("guards.max_rejects", "a count (e.g. 100) or a percentage (e.g. \"2%\")")
                }
            }
            if let raw = guards.map["max_delete_ratio"] {
                let value = (raw as? Double) ?? (raw as? Int).map(Double.init) ?? (raw as? String).flatMap { $0.hasSuffix("%") ? Double($0.dropLast()).map { $0 / 100 } : Double($0) }
                guard let v = value, v >= 0, v <= 1 else { throw fail("guards.max_delete_ratio", "a ratio from 0 to 1 (e.g. 0.05) or a percentage (\"5%\")") }
                def.guards.maxDeleteRatio = v
            }
        }
        return def
    }
}

extension PipelineDefinition {
    static func parseInbox(_ inbox: inout YAMLMap, fail: (String, String) -> DefinitionError) throws -> InboxSettings {
        try inbox.allowOnly(["directory", "pattern", "processed", "failed", "settle_seconds"])
        guard let directory = try inbox.string("directory", required: true), !directory.isEmpty else {
            throw fail("inbox.directory", "the directory new feeds arrive in")
        }
        var settings = InboxSettings(directory: directory)
        if let pattern = try inbox.string("pattern") {
            guard !pattern.isEmpty, !pattern.contains("/") else { throw fail("inbox.pattern", "a file name pattern such as \"*.csv.gz\"") }
            settings.pattern = pattern
        }
        for key in ["processed", "failed"] {
            guard let value = try inbox.string(key) else { continue }
            guard !value.isEmpty, !value.split(separator: "/").contains("..") else {
                throw fail("inbox.\(key)", "a directory inside the inbox, such as \(key)")
            }
            if key == "processed" { settings.processed = value } else { settings.failed = value }
        }
        if let raw = inbox.map["settle_seconds"] {
            guard let seconds = (raw as? Double) ?? (raw as? Int).map(Double.init), seconds >= 0, seconds <= 86_400 else {
                throw fail("inbox.settle_seconds", "a number of seconds from 0 to 86400")
            }
            settings.settleSeconds = seconds
        }
        if settings.processed == settings.failed { throw fail("inbox.failed", "a directory other than inbox.processed") }
        return settings
    }

    static func parseTracking(_ reader: inout YAMLMap, into def: inout PipelineDefinition,
                              fail: (String, String) -> DefinitionError) throws {
        if def.mode != .upsert { throw fail("mode", "nothing (\(def.kind.rawValue) runs never delete orders)") }
        if def.kind == .shipments, let key = ["event_codes", "event_time"].first(where: { reader.map[$0] != nil }) {
            throw fail(key, "nothing: a shipments feed has no event codes or event times (its time format is shipped_at:)")
        }
        if def.kind == .tracking, reader.map["shipped_at"] != nil { throw fail("shipped_at", "nothing: it belongs to kind: shipments pipelines") }
        if let carrier = try reader.string("carrier") {
            guard let name = Carrier.normalizedName(carrier) else { throw fail("carrier", "a carrier name") }
            def.tracking.carrier = name
        }
        if var time = try reader.child(def.kind == .shipments ? "shipped_at" : "event_time") {
            let timeKey = def.kind == .shipments ? "shipped_at" : "event_time"
            try time.allowOnly(["format", "zone"])
            let format = try time.string("format") ?? "rfc3339"
            let zone = try time.string("zone")
            if let zone, TimeZone(identifier: zone) == nil {
                throw fail("\(timeKey).zone", "an IANA time zone such as America/Chicago or UTC")
            }
            guard let parsed = EventTimeFormat(format: format, zone: zone) else {
                throw fail("\(timeKey).format", "rfc3339, epoch_seconds, epoch_millis, or a pattern of YYYY MM DD HH mm ss (M D H h SSS a) with \(timeKey).zone")
            }
            def.tracking.eventTime = parsed
        }
        if let raw = reader.map["hold_days"] {
            guard let days = raw as? Int, (0...3650).contains(days) else { throw fail("hold_days", "a number of days from 0 (reject unmatched events) to 3650") }
            def.tracking.holdDays = days
        }
        if let days = try reader.int("match_window_days") {
            guard (1...3650).contains(days) else { throw fail("match_window_days", "a number of days from 1 to 3650") }
            def.tracking.matchWindowDays = days
        }
        if let shared = try reader.string("shared_tracking") {
            guard let value = TrackingSettings.SharedTracking(rawValue: shared) else { throw fail("shared_tracking", "move_each or reject") }
            def.tracking.sharedTracking = value
        }
        if let codes = try reader.child("event_codes") {
            var table: [String: EventMeaning] = [:]
            for (code, value) in codes.map {
                let text = (value as? String) ?? (value as? Int).map(String.init)
                guard let text, let meaning = EventMeaning(text) else {
                    throw fail("event_codes.\(code)", "an order status (in_transit), an AfterShip tag (InTransit) or none")
                }
                table[code.trimmingCharacters(in: .whitespaces)] = meaning
            }
            guard !table.isEmpty else { throw fail("event_codes", "at least one code") }
            def.tracking.eventCodes = table
        }
    }
}
