import Foundation

/// What one finished job (an import run or an export) tells the monitoring system.
public struct JobMetrics: Sendable {
    /// `run` or `export`: the command that ran.
    public var command: String
    public var pipeline: String
    public var kind: String
    /// applied, dry_run, skipped, aborted, failed or cancelled.
    public var outcome: String
    /// Unix seconds.
    public var startedAt: Double
    /// Unix seconds.
    public var finishedAt: Double
    /// The last successful run's finish (from the run history), nil when there was none.
    public var lastSuccessAt: Double?
    public var stages: [(name: String, seconds: Double)] = []
    /// read, accepted, rejected.
    public var records: [String: Int] = [:]
    public var rejectsByReason: [String: Int] = [:]
    /// created, updated, deleted, status_changed, … (exports: rows, bytes).
    public var changes: [String: Int] = [:]

    /// The outcomes every `orderflow_job_last_outcome` series set lists (one is 1, the rest 0).
    public static let outcomes = ["applied", "dry_run", "skipped", "aborted", "failed", "cancelled"]

    public init(command: String, pipeline: String, kind: String, outcome: String, startedAt: Double, finishedAt: Double,
                lastSuccessAt: Double?) {
        self.command = command
        self.pipeline = pipeline
        self.kind = kind
        self.outcome = outcome
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.lastSuccessAt = lastSuccessAt
    }
}

/// The Prometheus text format for node exporter's textfile collector (docs/metrics.md): one file
/// may hold several pipelines; writing one replaces its series and keeps the others'.
public enum MetricsTextFile {
    /// Every family this file holds, in output order, with its help text.
    static let families: [(name: String, help: String)] = [
        ("orderflow_job_last_run_timestamp_seconds", "When the last run of the pipeline finished (Unix time)."),
        ("orderflow_job_last_success_timestamp_seconds", "When the last applied (or skipped as already applied) run of the pipeline finished (Unix time)."),
        ("orderflow_job_last_outcome", "1 for the outcome of the pipeline's last run, 0 for the others."),
        ("orderflow_job_last_duration_seconds", "How long the pipeline's last run took."),
        ("orderflow_job_last_stage_duration_seconds", "How long each stage of the pipeline's last run took."),
        ("orderflow_job_last_records", "Records the pipeline's last run read, accepted and rejected."),
        ("orderflow_job_last_rejects", "Records the pipeline's last run rejected, by reason."),
        ("orderflow_job_last_changes", "What the pipeline's last run changed (or would have), by kind of change."),
    ]

    /// Writes `metrics` into `path` atomically (a temp file in the same directory, fsync'd, renamed),
    /// keeping the series of other pipelines the file already holds.
    public static func write(_ metrics: JobMetrics, to path: String) throws {
        // Two jobs sharing the file must not each keep the other's old series: the read and the
        // rename happen under an exclusive lock on a sidecar file (the collector reads *.prom only).
        let lock = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if lock >= 0 { _ = flock(lock, LOCK_EX) }
        defer { if lock >= 0 { close(lock) } }
        let existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let text = render(metrics, keeping: existing)
        let url = URL(fileURLWithPath: path)
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        // The collector reads *.prom files: a temp name without that suffix is never half-read.
        guard FileManager.default.createFile(atPath: temp.path, contents: nil) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: temp.path])
        }
        let handle = try FileHandle(forWritingTo: temp)
        do {
            try handle.write(contentsOf: Data(text.utf8))
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            unlink(temp.path)
            throw error
        }
        guard rename(temp.path, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp.path)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: reason])
        }
    }

    /// The value of `family` for `pipeline`'s series in a file's text (e.g. the last success of
    /// a pipeline whose run failed just now), or nil.
    public static func value(of family: String, command: String, pipeline: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(family + "{") {
            let labels = Self.labels(of: line)
            if labels["pipeline"] == pipeline, labels["command"] == command, let v = line.split(separator: " ").last {
                return Double(v)
            }
        }
        return nil
    }

    /// The file's new text: `existing`'s series of other pipelines, then this job's.
    public static func render(_ m: JobMetrics, keeping existing: String) -> String {
        var samples: [String: [String]] = [:]
        let known = Set(families.map(\.name))
        for line in existing.split(separator: "\n") where !line.hasPrefix("#") {
            guard let brace = line.firstIndex(of: "{") else { continue }
            let name = String(line[..<brace])
            let labels = Self.labels(of: line)
            guard known.contains(name), labels["pipeline"] != m.pipeline || labels["command"] != m.command else { continue }
            samples[name, default: []].append(String(line))
        }
        let base = "command=\"\(escape(m.command))\",pipeline=\"\(escape(m.pipeline))\",kind=\"\(escape(m.kind))\""
        func add(_ family: String, _ extra: String? = nil, _ value: Double) {
            let labels = extra.map { base + "," + $0 } ?? base
            samples[family, default: []].append("\(family){\(labels)} \(number(value))")
        }
        add("orderflow_job_last_run_timestamp_seconds", nil, m.finishedAt)
        if let last = m.lastSuccessAt { add("orderflow_job_last_success_timestamp_seconds", nil, last) }
        for outcome in JobMetrics.outcomes { add("orderflow_job_last_outcome", "outcome=\"\(outcome)\"", outcome == m.outcome ? 1 : 0) }
        add("orderflow_job_last_duration_seconds", nil, max(0, m.finishedAt - m.startedAt))
        // A stage may run several times (one per input): its time is their sum.
        var stages: [(String, Double)] = []
        for stage in m.stages {
            if let i = stages.firstIndex(where: { $0.0 == stage.name }) { stages[i].1 += stage.seconds } else { stages.append((stage.name, stage.seconds)) }
        }
        for (name, seconds) in stages { add("orderflow_job_last_stage_duration_seconds", "stage=\"\(escape(name))\"", seconds) }
        for (state, n) in m.records.sorted(by: { $0.key < $1.key }) { add("orderflow_job_last_records", "state=\"\(escape(state))\"", Double(n)) }
        for (reason, n) in m.rejectsByReason.sorted(by: { $0.key < $1.key }) { add("orderflow_job_last_rejects", "reason=\"\(escape(reason))\"", Double(n)) }
        for (change, n) in m.changes.sorted(by: { $0.key < $1.key }) { add("orderflow_job_last_changes", "change=\"\(escape(change))\"", Double(n)) }

        var out = ""
        for family in families {
            guard let lines = samples[family.name], !lines.isEmpty else { continue }
            out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) gauge\n"
            for line in lines { out += line + "\n" }
        }
        return out
    }

    /// A label value as the text format needs it: backslash, double quote and newline escaped.
    public static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }

    /// The labels of one sample line, unescaped.
    static func labels(of line: Substring) -> [String: String] {
        guard let open = line.firstIndex(of: "{") else { return [:] }
        var labels: [String: String] = [:]
        var i = line.index(after: open)
        while i < line.endIndex, line[i] != "}" {
            guard let eq = line[i...].firstIndex(of: "=") else { break }
            let name = String(line[i..<eq]).trimmingCharacters(in: CharacterSet(charactersIn: ", "))
            var j = line.index(eq, offsetBy: 2, limitedBy: line.endIndex) ?? line.endIndex // past ="
            var value = ""
            while j < line.endIndex, line[j] != "\"" {
                if line[j] == "\\", line.index(after: j) < line.endIndex {
                    j = line.index(after: j)
                    value.append(line[j] == "n" ? "\n" : line[j])
                } else {
                    value.append(line[j])
                }
                j = line.index(after: j)
            }
            labels[name] = value
            i = j < line.endIndex ? line.index(after: j) : j
            while i < line.endIndex, line[i] == "," { i = line.index(after: i) }
        }
        return labels
    }
}
