import DefinitionFile
import RunSupport

/// The SQL of one export: a `COPY (SELECT …) TO STDOUT` whose values come from transaction
/// settings (`current_setting`), because COPY cannot take bind parameters. The settings are set
/// with bound parameters (`set_config`), so no value is ever part of the SQL text.
public struct ExportQuery: Sendable {
    /// One output column: its CSV name and the SQL that produces it.
    public struct Column: Sendable {
        public let name: String
        let sql: String
        /// What CSV shows instead, when it differs (booleans as `true`/`false`, not `t`/`f`).
        var csvSQL: String?
        /// Free text a spreadsheet could read as a formula (neutralized in CSV).
        let isText: Bool
        public var jsonKey: String { FieldName.jsonKey(name) }
    }

    public let definition: ExportDefinition
    public let columns: [Column]
    /// `SELECT …` producing the rows (CSV columns or one JSON text per row).
    public let selectSQL: String
    /// The statement handed to `copyOut`.
    public let copySQL: String
    /// The control totals over the same rows, computed by PostgreSQL (`ControlTotals`): one row
    /// per key (currency; for history the event kind, for shipments the carrier) with
    /// `rows`, `units` and `total`.
    public let controlSQL: String
    /// Setting name → value; set before the COPY in the same transaction.
    public let settings: [(name: String, value: String)]

    /// Names of the settings the query reads.
    static let fromSetting = "orderflow.export_from", toSetting = "orderflow.export_to"
    static let statusSetting = "orderflow.export_status", sourceSetting = "orderflow.export_source"
    static let customerSetting = "orderflow.export_customer"
    static let sinceSetting = "orderflow.export_since"

    /// Builds the query; `from`/`to` are the period's bounds already resolved to instants
    /// (exact RFC 3339 in UTC), `nil` for an open end. `since` is the snapshot (`pg_snapshot`
    /// text) of the previous incremental export: only rows written by transactions it did not
    /// see are exported.
    public init(definition: ExportDefinition, from: String?, to: String?, since: String? = nil) {
        self.definition = definition
        let d = definition
        let columns = Self.columns(d.dataset)
        self.columns = columns
        // JIT compiles the per-row expressions for ~0.4 s and then runs them slower than the
        // interpreter on this query shape (measured on 1M orders: 11.6 s with JIT, 9.4 s without).
        var settings: [(String, String)] = [("jit", "off")]
        var conditions: [String] = []

        let time: String
        switch (d.dataset, d.timeField) {
        // A shipment's "event" is the carrier event its current status came from: one column,
        // which migrated shipments have too (their carrier history before migration 4 is in
        // order_events, not shipment_events).
        case (.shipments, .event): time = "s.status_event_at"
        case (.shipments, .shipped): time = Self.shipmentTime
        case (.shipments, .created): time = "s.created_at"
        case (.shipments, .updated): time = "s.updated_at"
        case (.history, _), (_, .event): time = "e.event_at"
        case (_, .created), (_, .shipped): time = "o.created_at"
        case (_, .updated): time = "o.updated_at"
        }
        // The bounds are scalar subqueries, so PostgreSQL evaluates them once (an InitPlan) and can
        // use them as index conditions, instead of calling `current_setting` for every row.
        func bounded(_ expr: String) -> [String] {
            var c: [String] = []
            if let from {
                settings.append((Self.fromSetting, from))
                c.append("\(expr) >= (SELECT current_setting('\(Self.fromSetting)')::timestamptz)")
            }
            if let to {
                settings.append((Self.toSetting, to))
                c.append("\(expr) < (SELECT current_setting('\(Self.toSetting)')::timestamptz)")
            }
            return c
        }
        if (d.dataset == .orders || d.dataset == .lines) && d.timeField == .event {
            let inPeriod = bounded("e.event_at")
            conditions.append("EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = o.id"
                              + inPeriod.map { " AND " + $0 }.joined() + ")")
        } else {
            conditions += bounded(time)
        }
        if let since {
            settings.append((Self.sinceSetting, since))
            // The planner cannot estimate the snapshot test (it guesses a third of the table) and
            // hashes every line item to join a night's 1% of the orders; joined by their primary
            // keys instead, 10k changed orders of 1M take 0.6 s instead of 1.3 s. A night that
            // changed most orders pays index lookups for them, about twice the hash join's time.
            settings.append(("enable_hashjoin", "off"))
            settings.append(("enable_mergejoin", "off"))
            switch d.dataset {
            case .orders, .lines: conditions.append(Self.changedSince("o"))
            case .history: conditions.append(Self.changedSince("e"))
            case .shipments:
                // A tracking feed's line records change a shipment's lines without its row.
                conditions.append("(\(Self.changedSince("s")) OR EXISTS (SELECT 1 FROM shipment_lines x "
                                  + "WHERE x.order_id = s.order_id AND x.shipment_id = s.id AND \(Self.changedSince("x"))))")
            }
        }
        func list(_ values: [String], _ setting: String, _ expr: String) {
            guard !values.isEmpty else { return }
            settings.append((setting, Self.jsonArray(values)))
            conditions.append("\(expr) IN (SELECT jsonb_array_elements_text(current_setting('\(setting)')::jsonb))")
        }
        let history = d.dataset == .history
        let status: String
        switch d.dataset {
        case .history: status = "e.to_status"
        // The shipment's own status; one without (no carrier event yet) counts as shipped.
        case .shipments: status = "coalesce(s.status, 'shipped')"
        case .orders, .lines: status = "o.status"
        }
        list(d.statuses, Self.statusSetting, status)
        list(d.sources, Self.sourceSetting, history ? "e.source" : "o.source")
        list(d.customers, Self.customerSetting, "o.customer_id")
        let whereSQL = conditions.isEmpty ? "" : "\nWHERE " + conditions.joined(separator: "\n  AND ")

        let from: String, group: String, order: String
        switch d.dataset {
        case .orders:
            from = "orders o LEFT JOIN order_items i ON i.order_id = o.id"
            group = "\nGROUP BY o.id"
            order = d.timeField == .updated ? "o.updated_at, o.id" : "o.created_at, o.id"
        case .lines:
            from = "orders o JOIN order_items i ON i.order_id = o.id"
            group = ""
            order = (d.timeField == .updated ? "o.updated_at" : "o.created_at") + ", o.id, i.line_no"
        case .history:
            from = "order_events e LEFT JOIN orders o ON o.id = e.order_id"
            group = ""
            order = "e.event_at, e.order_id, e.id"
        case .shipments:
            // Every shipment has its order (a foreign key). Its lines are aggregated per shipment
            // in a lateral subquery, which reads them by their primary key (order_id, shipment_id,
            // line_no) and, like every join here, on order_id: co-located when distributed.
            // count(*) over no lines is 0 and sum is NULL: a shipment that names no lines has no
            // unit count rather than a made-up 0.
            let lines = d.format == .ndjson
                ? ", json_agg(json_build_object('lineNo', sl.line_no, 'quantity', sl.quantity) ORDER BY sl.line_no) AS lines"
                : ""
            from = """
                shipments s JOIN orders o ON o.id = s.order_id
                CROSS JOIN LATERAL (SELECT count(*) AS line_count, sum(sl.quantity) AS units\(lines)
                                    FROM shipment_lines sl WHERE sl.order_id = s.order_id AND sl.shipment_id = s.id) l
                """
            group = ""
            order = "\(time), s.order_id, s.id"
        }
        let select: String
        switch d.format {
        case .csv:
            select = columns.map { "\($0.isText ? Self.neutralized($0.sql) : $0.csvSQL ?? $0.sql) AS \($0.name)" }.joined(separator: ",\n       ")
        case .xlsx:
            // The CSV form with the raw values: an xlsx text cell is typed, never a formula.
            select = columns.map { "\($0.csvSQL ?? $0.sql) AS \($0.name)" }.joined(separator: ",\n       ")
        case .ndjson:
            var pairs = columns.map { "'\($0.jsonKey)', \($0.sql)" }
            if d.dataset == .orders {
                // The order feed's shape, so an NDJSON export can be imported again.
                pairs.append("""
                    'products', coalesce(json_agg(json_build_object('lineNo', i.line_no, 'productId', i.product_id, 'quantity', i.quantity, \
                    'unitPrice', i.unit_price) ORDER BY i.line_no) FILTER (WHERE i.line_no IS NOT NULL), '[]'::json)
                    """)
            }
            if d.dataset == .shipments {
                // The same shape as a shipment's `lines` in the API: [{lineNo, quantity}].
                pairs.append("'lines', coalesce(l.lines, '[]'::json)")
            }
            select = "json_build_object(" + pairs.joined(separator: ", ") + ")::text"
        }
        selectSQL = "SELECT \(select)\nFROM \(from)\(whereSQL)\(group)\nORDER BY \(order)"
        switch d.dataset {
        case .orders:
            controlSQL = "SELECT currency AS key, count(*) AS rows, sum(units) AS units, sum(total) AS total FROM (\n"
                + "  SELECT o.currency, coalesce(sum(i.quantity), 0) AS units, coalesce(sum(i.quantity * i.unit_price), 0) AS total\n"
                + "  FROM \(from)\(whereSQL)\(group)) t\nGROUP BY currency"
        case .lines:
            controlSQL = "SELECT o.currency AS key, count(*) AS rows, sum(i.quantity) AS units, coalesce(sum(i.quantity * i.unit_price), 0) AS total\n"
                + "FROM \(from)\(whereSQL)\nGROUP BY o.currency"
        case .history:
            controlSQL = "SELECT e.kind AS key, count(*) AS rows, 0 AS units, 0 AS total\nFROM \(from)\(whereSQL)\nGROUP BY e.kind"
        case .shipments:
            controlSQL = "SELECT s.carrier AS key, count(*) AS rows, coalesce(sum(l.units), 0) AS units, 0 AS total\n"
                + "FROM \(from)\(whereSQL)\nGROUP BY s.carrier"
        }
        switch d.format {
        case .csv, .xlsx:
            copySQL = "COPY (\(selectSQL)) TO STDOUT WITH (FORMAT csv, HEADER true)"
        case .ndjson:
            // CSV mode with a quote and delimiter that JSON text never contains (json_build_object
            // escapes control characters), so each JSON line arrives verbatim: text mode would
            // double every backslash of the JSON escapes.
            copySQL = "COPY (\(selectSQL)) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
        }
        self.settings = settings
    }

    /// Rows of `alias` written by a transaction the previous export's snapshot did not see.
    /// Every xid below the snapshot's xmin was visible to it, so that range condition comes first
    /// (an index range on `order_events.change_xid`).
    static func changedSince(_ alias: String) -> String {
        let since = "(SELECT current_setting('\(sinceSetting)')::pg_snapshot)"
        return "(\(alias).change_xid >= pg_snapshot_xmin(\(since)) AND NOT pg_visible_in_snapshot(\(alias).change_xid, \(since)))"
    }

    /// A shipment's time for `period.on: shipped` (`TimeField.shipped`).
    static let shipmentTime = "coalesce(s.shipped_at, s.created_at)"

    /// RFC 3339 in UTC with milliseconds (the API's timestamp format, docs/openapi.yaml).
    static func timestamp(_ expr: String) -> String {
        "to_char(\(expr) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    }

    /// OWASP's CSV-injection defence: a text cell starting with `=`, `+`, `-`, `@`, tab, CR or LF
    /// gets a leading single quote, so a spreadsheet shows it as text instead of evaluating it.
    /// A cell that is a plain number (`-12.50`) is left alone: it is not a formula.
    static func neutralized(_ expr: String) -> String {
        "CASE WHEN left(\(expr), 1) IN ('=', '+', '-', '@', chr(9), chr(13), chr(10)) AND \(expr) !~ '^[-+]?[0-9]+([.][0-9]+)?$' "
            + "THEN '''' || \(expr) ELSE \(expr) END"
    }

    static func columns(_ dataset: ExportDefinition.Dataset) -> [Column] {
        func c(_ name: String, _ sql: String, text: Bool = false) -> Column { Column(name: name, sql: sql, isText: text) }
        let order = [
            c("order_id", "o.id"), c("status", "o.status"), c("currency", "o.currency", text: true),
            c("created_at", timestamp("o.created_at")), c("updated_at", timestamp("o.updated_at")),
            c("source", "o.source", text: true), c("external_ref", "o.external_ref", text: true),
            c("customer_id", "o.customer_id", text: true), c("tracking_company", "o.tracking_company", text: true),
            c("tracking_number", "o.tracking_number", text: true),
        ]
        switch dataset {
        case .orders:
            return order + [
                c("line_items", "count(i.line_no)"), c("units", "coalesce(sum(i.quantity), 0)"),
                c("total", "coalesce(sum(i.quantity * i.unit_price), 0)"),
            ]
        case .lines:
            return order + [
                c("line_no", "i.line_no"), c("product_id", "i.product_id", text: true), c("quantity", "i.quantity"),
                c("unit_price", "i.unit_price"), c("line_total", "i.quantity * i.unit_price"),
            ]
        case .history:
            return [
                c("event_id", "e.id"), c("order_id", "e.order_id"), c("kind", "e.kind", text: true),
                c("event_at", timestamp("e.event_at")), c("recorded_at", timestamp("e.recorded_at")), c("run_id", "e.run_id"),
                c("source", "e.source", text: true), c("external_ref", "o.external_ref", text: true),
                c("customer_id", "o.customer_id", text: true), c("currency", "o.currency", text: true),
                c("from_status", "e.from_status"), c("to_status", "e.to_status"),
                c("tracking_company", "e.tracking_company", text: true), c("tracking_number", "e.tracking_number", text: true),
                c("changed_fields", "array_to_string(e.changed_fields, ' ')", text: true),
                Column(name: "order_deleted", sql: "o.id IS NULL", csvSQL: "CASE WHEN o.id IS NULL THEN 'true' ELSE 'false' END", isText: false),
            ]
        case .shipments:
            // Carrier, tracking number and exception text come from feeds and people: text cells.
            return [
                c("order_id", "s.order_id"), c("shipment_id", "s.id"), c("source", "o.source", text: true),
                c("external_ref", "o.external_ref", text: true), c("customer_id", "o.customer_id", text: true),
                c("order_status", "o.status"), c("carrier", "s.carrier", text: true),
                c("tracking_number", "s.tracking_number", text: true), c("shipment_status", "s.status"),
                c("status_event_at", timestamp("s.status_event_at")), c("shipped_at", timestamp("s.shipped_at")),
                c("delivered_at", timestamp("s.delivered_at")), c("attempts", "s.attempts"),
                c("exception_code", "s.exception_code", text: true), c("exception_text", "s.exception_text", text: true),
                c("line_count", "l.line_count"), c("units", "l.units"), c("shipment_source", "s.source", text: true),
                c("created_at", timestamp("s.created_at")), c("updated_at", timestamp("s.updated_at")),
            ]
        }
    }

    /// A JSON array of strings for a `jsonb` setting.
    static func jsonArray(_ values: [String]) -> String {
        var out = "["
        for (i, v) in values.enumerated() {
            if i > 0 { out += "," }
            out += "\""
            for u in v.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
                default: out.unicodeScalars.append(u)
                }
            }
            out += "\""
        }
        return out + "]"
    }
}
