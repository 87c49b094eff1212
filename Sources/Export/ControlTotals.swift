import PostgresClient
import RunSupport

/// The export's figures recomputed by PostgreSQL over the same snapshot, and checked against
/// the summary built from the rows that went into the file: a file whose rows do not add up to
/// what the database says is not handed to finance (docs/export.md#control-totals).
public struct ControlTotals: Codable, Sendable, Equatable {
    /// The figures of one key: a currency (orders, lines), an event kind (history) or a carrier
    /// (shipments).
    public struct Group: Codable, Sendable, Equatable {
        public var key: String
        public var rows: Int
        public var units: Int
        /// Exact decimal text (0 for history and shipments, which carry no money).
        public var total: String

        public init(key: String, rows: Int, units: Int, total: String) {
            (self.key, self.rows, self.units, self.total) = (key, rows, units, total)
        }
    }

    /// What the groups are keyed by: `currency`, `kind` or `carrier`.
    public var keyedBy: String
    public var rows: Int
    public var groups: [Group]
    /// True once `check` found the summary equal; the report says so.
    public var matched = false

    public init(keyedBy: String, rows: Int, groups: [Group]) {
        (self.keyedBy, self.rows, self.groups) = (keyedBy, rows, groups)
    }

    /// Runs the query's control statement in the export's transaction (so on its snapshot).
    public static func compute(_ query: ExportQuery, on conn: PostgresConnection) throws -> ControlTotals {
        let result = try conn.execute(query.controlSQL)
        var groups: [Group] = []
        for row in result.rows {
            groups.append(Group(key: row["key"] ?? "", rows: try row.decode("rows"), units: try row.decode("units"),
                                total: row["total"] ?? "0"))
        }
        groups.sort { $0.key < $1.key }
        let keyedBy: String
        switch query.definition.dataset {
        case .orders, .lines: keyedBy = "currency"
        case .history: keyedBy = "kind"
        case .shipments: keyedBy = "carrier"
        }
        return ControlTotals(keyedBy: keyedBy, rows: groups.reduce(0) { $0 + $1.rows }, groups: groups)
    }

    /// The same figures as the summary has them, keyed the same way.
    static func fromSummary(_ s: ExportSummary, dataset: ExportDefinition.Dataset) -> [Group] {
        var byKey: [String: (rows: Int, units: Int, total: ExactDecimal)] = [:]
        switch dataset {
        case .orders, .lines:
            for g in s.byCurrencyStatus {
                var entry = byKey[g.currency] ?? (0, 0, ExactDecimal())
                entry.units += g.units
                entry.total.add(ExactDecimal(text: g.total) ?? ExactDecimal())
                byKey[g.currency] = entry
            }
            return byKey.map { Group(key: $0.key, rows: 0, units: $0.value.units, total: $0.value.total.text) }
        case .history:
            return s.eventsByKind.map { Group(key: $0.key, rows: $0.value, units: 0, total: "0") }
        case .shipments:
            for g in s.shipments?.byCarrierStatus ?? [] {
                var entry = byKey[g.carrier] ?? (0, 0, ExactDecimal())
                entry.rows += g.shipments
                entry.units += g.units
                byKey[g.carrier] = entry
            }
            return byKey.map { Group(key: $0.key, rows: $0.value.rows, units: $0.value.units, total: "0") }
        }
    }

    /// Throws `controlTotals`, naming each figure that differs, unless the summary agrees.
    public mutating func check(_ summary: ExportSummary, dataset: ExportDefinition.Dataset) throws {
        var differences: [String] = []
        if summary.rows != rows { differences.append("rows: the file has \(summary.rows), PostgreSQL counts \(rows)") }
        let ours = Dictionary(Self.fromSummary(summary, dataset: dataset).map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let theirs = Dictionary(groups.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        for key in Set(ours.keys).union(theirs.keys).sorted() {
            let a = ours[key], b = theirs[key]
            let label = "\(keyedBy) \(key.isEmpty ? "(none)" : key)"
            // Orders and lines have no per-currency row count in the summary (an order's rows
            // are its lines); their row total is checked above.
            if dataset == .history || dataset == .shipments, (a?.rows ?? 0) != (b?.rows ?? 0) {
                differences.append("\(label): \(a?.rows ?? 0) rows in the file, \(b?.rows ?? 0) in PostgreSQL")
            }
            if (a?.units ?? 0) != (b?.units ?? 0) {
                differences.append("\(label): \(a?.units ?? 0) units in the file, \(b?.units ?? 0) in PostgreSQL")
            }
            let ta = ExactDecimal(text: a?.total ?? "0") ?? ExactDecimal(), tb = ExactDecimal(text: b?.total ?? "0") ?? ExactDecimal()
            if !ta.sameValue(tb) {
                differences.append("\(label): total \(ta.text) in the file, \(tb.text) in PostgreSQL")
            }
        }
        guard differences.isEmpty else {
            throw ExportError(.controlTotals, "the file's figures differ from PostgreSQL's over the same snapshot: "
                              + differences.joined(separator: "; "))
        }
        matched = true
    }
}

/// The control query on a second connection that imports the export's snapshot
/// (`pg_export_snapshot`), so PostgreSQL computes the totals on the other core while the rows
/// stream instead of after them (1M orders: 6.8 s after the COPY, in the export's wall time).
struct ControlTotalsWorker {
    private let thread: WorkerThread<ControlTotals>
    private let cancellation = Cancellation()

    /// Starts the query on `conn`'s sibling, in the snapshot `snapshotId` the export's transaction exported.
    init(_ query: ExportQuery, snapshotId: String, beside conn: PostgresConnection) throws {
        let sibling = try conn.sibling()
        let cancellation = self.cancellation
        // The connection is handed to the thread and used only there.
        nonisolated(unsafe) let owned = sibling
        thread = WorkerThread(name: "orderflow.export-control") {
            let conn = owned
            try conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            // SET TRANSACTION SNAPSHOT takes no parameter; the id is PostgreSQL's own, quoted anyway.
            try conn.execute("SET TRANSACTION SNAPSHOT \(PostgresQuery.quoteLiteral(snapshotId))")
            for setting in query.settings {
                try conn.query("SELECT set_config(\(setting.name), \(setting.value), true)")
            }
            // One backend, not a parallel plan's three: it has the whole COPY to finish in, and
            // parallel workers would take CPU from the COPY it runs beside.
            try conn.query("SELECT set_config('max_parallel_workers_per_gather', '0', true)")
            cancellation.attach(conn.cancelHandle())
            defer { cancellation.attach(nil) }
            let totals = try ControlTotals.compute(query, on: conn)
            conn.rollbackQuietly()
            return totals
        }
    }

    /// The totals, once the query has finished.
    func result() throws -> ControlTotals {
        try thread.wait().get()
    }

    /// Cancels the query (the export failed) and waits for the thread.
    func stop() {
        _ = cancellation.cancel(reason: "the export stopped")
        _ = thread.wait()
    }
}
