import Foundation
import Pipeline
import PostgresClient
import OrderflowTestSupport
import Reports

/// A fresh migrated database plus helpers to run pipelines over feeds written in the test.
struct PipelineFixture: DatabaseFixtureBased {
    let base: DatabaseFixture

    init() throws {
        base = try DatabaseFixture(prefix: "of-pipe")
    }

    static let header = DatabaseFixture.ordersHeader

    func definition(_ extra: String = "", mode: String = "upsert", maxRejects: String = "100") throws -> PipelineDefinition {
        try PipelineDefinition.parse(yaml: """
            name: test-\(mode)
            kind: orders
            source: legacy
            mode: \(mode)
            guards:
              max_rejects: \(maxRejects)
            \(extra)
            """)
    }

    /// Runs a pipeline over inputs, writing reports into the fixture's directory.
    @discardableResult
    func run(_ def: PipelineDefinition, _ inputs: [String], dryRun: Bool = false, force: Bool = true, firstLoad: Bool = true) throws -> RunReport {
        var options = RunOptions()
        options.firstLoad = firstLoad
        options.dryRun = dryRun
        options.force = force
        options.chunkSize = 4096 // many chunks even for small feeds: exercises the hand-off
        let reportDir = dir.appendingPathComponent("report-\(UInt32.random(in: 0...UInt32.max))")
        return try PipelineRun(definition: def, inputs: inputs, options: options).run(on: conn, runId: "test") { report, rejects in
            let written = try ReportWriter(directory: reportDir).write(report, rejects: rejects, definition: def, inputs: inputs)
            lastReport.value = written
            return written
        }
    }

    final class Box: @unchecked Sendable { var value: RunReport? }
    let lastReport = Box()
}
