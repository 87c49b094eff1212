import Foundation
import Testing

/// docs/architecture.md is the module map a newcomer reads first; these tests keep its table
/// equal to what Package.swift declares, so the map cannot drift from the code.
@Suite struct ModuleMapTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Target name → the targets and products it depends on, read from Package.swift.
    static func packageTargets() throws -> [String: Set<String>] {
        let text = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        var targets: [String: Set<String>] = [:]
        let starts = try Regex(#"\.(target|executableTarget|systemLibrary)\(\s*name:\s*"([^"]+)""#)
        for match in text.matches(of: starts) {
            let name = String(match.output[2].substring!)
            // The declaration runs to its closing parenthesis.
            var depth = 0, end = match.range.lowerBound
            for i in text[match.range.lowerBound...].indices {
                let c = text[i]
                if c == "(" { depth += 1 } else if c == ")" { depth -= 1; if depth == 0 { end = i; break } }
            }
            let body = String(text[match.range.upperBound..<end])
            var deps = Set<String>()
            if let list = body.firstMatch(of: try Regex(#"dependencies:\s*\[((?:[^\[\]]|\[[^\[\]]*\])*)\]"#)) {
                let inner = String(list.output[1].substring!)
                for product in inner.matches(of: try Regex(#"\.product\(\s*name:\s*"([^"]+)""#)) {
                    deps.insert(String(product.output[1].substring!))
                }
                let withoutProducts = inner.replacing(try Regex(#"\.product\([^)]*\)"#), with: "")
                for plain in withoutProducts.matches(of: try Regex(#""([^"]+)""#)) {
                    deps.insert(String(plain.output[1].substring!))
                }
            }
            targets[name] = deps
        }
        return targets
    }

    /// Module → "may import" set, from the table under "## Modules" in docs/architecture.md.
    static func documentedModules() throws -> [String: Set<String>] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        guard let section = text.range(of: "## Modules") else { return [:] }
        var modules: [String: Set<String>] = [:]
        for line in text[section.upperBound...].split(separator: "\n") {
            if line.hasPrefix("## ") { break }
            guard line.hasPrefix("| `") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4 else { continue }
            let name = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let imports = cells[3].matches(of: try Regex("`([^`]+)`")).map { String($0.output[1].substring!) }
            modules[name] = Set(imports)
        }
        return modules
    }

    @Test func everyTargetIsInTheMapWithExactlyItsDependencies() throws {
        let declared = try Self.packageTargets()
        let documented = try Self.documentedModules()
        #expect(!declared.isEmpty && !documented.isEmpty)
        for (name, deps) in declared.sorted(by: { $0.key < $1.key }) {
            guard let doc = documented[name] else {
                Issue.record("docs/architecture.md has no row for \(name)")
                continue
            }
            #expect(doc == deps, "\(name): Package.swift says \(deps.sorted()), docs/architecture.md says \(doc.sorted())")
        }
        for name in documented.keys where declared[name] == nil {
            Issue.record("docs/architecture.md names \(name), which Package.swift does not declare")
        }
    }

    @Test func theAPIDependsNeitherOnTheImportEngineNorOnTheExport() throws {
        let deps = try #require(try Self.packageTargets()["OrderAPI"])
        #expect(!deps.contains("Pipeline") && !deps.contains("Export") && !deps.contains("Reports"))
    }
}
