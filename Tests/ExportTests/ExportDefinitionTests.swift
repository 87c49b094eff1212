import Foundation
import Pipeline
import Testing

@Suite struct ExportDefinitionTests {
    @Test func parsesTheShippedFinancePipeline() throws {
        let def = try ExportDefinition.load(path: "pipelines/finance-monthly.yaml")
        #expect(def.name == "finance-monthly")
        #expect(def.dataset == .orders)
        #expect(def.gzip)
    }
}
