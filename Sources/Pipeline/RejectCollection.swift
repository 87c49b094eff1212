import Feeds
import Foundation
import OrderModel
import OrderStore
import PostgresClient
import RunSupport

extension PipelineRun {
    /// Streams the reject list into a temporary file, counting reasons and keeping examples.
    func collectRejects(_ conn: PostgresConnection, sql: String, into report: inout RunReport) throws -> RejectList {
        let list = try RejectList.create()
        guard let handle = FileHandle(forWritingAtPath: list.path) else {
            throw RunError.configuration("cannot write \(list.path)")
        }
        defer { try? handle.close() }
        var byReason: [String: Int] = [:]
        var examples: [String: [RunReport.RejectExample]] = [:]
        let names = report.inputs.map(\.name)
        try conn.copyOut(sql) { chunk in
            handle.write(Data(chunk))
            var row = ArraySlice(Array(chunk))
            if row.last == 0x0A { row = row.dropLast() }
            if let e = RejectList.parse(row) {
                byReason[e.reason, default: 0] += 1
                if examples[e.reason, default: []].count < 5 {
                    examples[e.reason, default: []].append(RunReport.RejectExample(input: names.indices.contains(e.file) ? names[e.file] : "?", line: e.line, message: e.message))
                }
            }
        }
        report.rejectsByReason = byReason
        report.rejectExamples = examples
        return list
    }
}
