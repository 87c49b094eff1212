import Export
import Foundation
import RunSupport
import DefinitionFile
import Pipeline
import Testing

@Suite struct ExportDefinitionTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func parsesTheShippedFinancePipeline() throws {
        let def = try ExportDefinition.load(path: Self.repository.appendingPathComponent("pipelines/finance-monthly.yaml").path)
        #expect(def.name == "finance-monthly" && def.dataset == .orders && def.timeField == .created)
        #expect(def.gzip && def.bom && def.format == .csv && def.timezone == "Europe/Berlin")
        #expect(def.relativePeriod == .previousMonth && !def.statuses.contains("cancelled"))
    }

    @Test func parsesTheNightlyIncrementalPipelines() throws {
        for (file, dataset) in [("finance-nightly.yaml", ExportDefinition.Dataset.orders), ("finance-nightly-history.yaml", .history)] {
            let def = try ExportDefinition.load(path: Self.repository.appendingPathComponent("pipelines/\(file)").path)
            #expect(def.name == "finance-nightly" && def.dataset == dataset && def.incremental && def.gzip)
            #expect(def.timeField == (dataset == .history ? .event : .updated) && def.timezone == "Europe/Berlin")
        }
        // A period and incremental exclude each other.
        #expect(throws: DefinitionError.self) {
            try ExportDefinition.parse(yaml: "name: x\nkind: export\nincremental: true\nperiod:\n  default: previous_day\n")
        }
    }

    /// The fuzzer's find (fuzz/regressions/yaml): a mapping as a key crashed Yams's constructor.
    @Test func aMappingAsAKeyIsRefusedNotACrash() throws {
        let crash = try String(contentsOf: Self.repository.appendingPathComponent("fuzz/regressions/yaml/complex-mapping-key"), encoding: .utf8)
        #expect(throws: DefinitionError.self) { try PipelineDefinition.parse(yaml: crash) }
        #expect(throws: DefinitionError(file: "<memory>", key: "guards", expected: "a plain name as the key (a mapping or list cannot be a key)")) {
            try ExportDefinition.parse(yaml: "name: x\nkind: export\nguards:\n  ? {a: 1}\n  : 2\n")
        }
    }

    @Test func wrongFilesAreRefusedNamingTheKey() throws {
        func key(_ yaml: String) -> String? {
            do {
                _ = try ExportDefinition.parse(yaml: yaml, file: "x.yaml")
                return nil
            } catch let e as DefinitionError {
                return e.key
            } catch {
                return "?"
            }
        }
        #expect(key("name: a\nkind: export\ndatset: orders\n") == "datset")
        #expect(key("name: a\nkind: orders\n") == "kind")
        #expect(key("name: a\nkind: export\ndataset: invoices\n") == "dataset")
        #expect(key("name: a\nkind: export\nperiod:\n  from: 2026-10-01T00:00:00\n") == "period.from")
        #expect(key("name: a\nkind: export\nperiod:\n  timezone: Mars/Olympus\n") == "period.timezone")
        #expect(key("name: a\nkind: export\ndataset: history\nperiod:\n  on: created\n") == "period.on")
        #expect(key("name: a\nkind: export\nfilters:\n  status: [shipped, lost]\n") == "filters.status")
        #expect(key("name: a\nkind: export\noutput:\n  format: ndjson\n  bom: true\n") == "output.bom")
        #expect(key("name: a\nkind: export\nfilters:\n  status: shipped\n  source: [legacy, erp]\n") == nil)
    }

    @Test func shipmentsPipelinesDefaultToShippedTimeAndFilterShipmentStatuses() throws {
        let def = try ExportDefinition.parse(yaml: """
            name: shipments-daily
            kind: export
            dataset: shipments
            period:
              timezone: Europe/Berlin
              default: previous_day
            filters:
              status: [shipped, exception, delivered]
              source: legacy
            output:
              format: ndjson
            """, file: "shipments.yaml")
        #expect(def.dataset == .shipments && def.timeField == .shipped && def.relativePeriod == .previousDay)
        #expect(def.statuses == ["shipped", "exception", "delivered"] && def.sources == ["legacy"] && def.format == .ndjson)
        for on in ["created", "updated", "event", "shipped"] {
            #expect(try ExportDefinition.parse(yaml: "name: a\nkind: export\ndataset: shipments\nperiod:\n  on: \(on)\n").timeField.rawValue == on)
        }
        func key(_ yaml: String) -> String? {
            do {
                _ = try ExportDefinition.parse(yaml: yaml, file: "x.yaml")
                return nil
            } catch let e as DefinitionError {
                return e.key
            } catch {
                return "?"
            }
        }
        // No shipment is ever processing or cancelled; shipped time is a shipment's.
        #expect(key("name: a\nkind: export\ndataset: shipments\nfilters:\n  status: [shipped, processing]\n") == "filters.status")
        #expect(key("name: a\nkind: export\ndataset: shipments\nfilters:\n  status: cancelled\n") == "filters.status")
        #expect(key("name: a\nkind: export\ndataset: orders\nperiod:\n  on: shipped\n") == "period.on")
        #expect(key("name: a\nkind: export\ndataset: history\nperiod:\n  on: shipped\n") == "period.on")
    }

    @Test func relativePeriodsAreCalendarPeriodsInTheZone() throws {
        // 2026-11-01T00:30:00+01:00 in Berlin is still 31 October in UTC.
        let now = Date(timeIntervalSince1970: 1_793_489_400) // 2026-10-31T23:30:00Z
        let berlin = ExportDefinition.RelativePeriod.previousMonth.bounds(now: now, timezone: "Europe/Berlin")
        #expect(berlin.0.description == "2026-10-01" && berlin.1.description == "2026-11-01")
        let utc = ExportDefinition.RelativePeriod.previousMonth.bounds(now: now, timezone: "UTC")
        #expect(utc.0.description == "2026-09-01" && utc.1.description == "2026-10-01")
        let day = ExportDefinition.RelativePeriod.previousDay.bounds(now: now, timezone: "UTC")
        #expect(day.0.description == "2026-10-30" && day.1.description == "2026-10-31")
    }
}
