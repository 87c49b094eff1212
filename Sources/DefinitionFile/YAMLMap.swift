import Foundation
import Yams

/// Typed access to one YAML mapping, with the dotted key path for error messages.
public struct YAMLMap {
    public let map: [String: Any]
    public let path: String
    public let fail: (String, String) -> DefinitionError

    public func key(_ k: String) -> String { path.isEmpty ? k : "\(path).\(k)" }

    /// The text of a pipeline file, or why it cannot be read.
    public static func text(ofFile path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DefinitionError(file: path, key: "", expected: "a readable YAML file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DefinitionError(file: path, key: "", expected: "UTF-8 text")
        }
        return text
    }

    /// The top-level mapping of `file`'s YAML, whose errors name that file; `expected` says what
    /// it should hold.
    public static func root(yaml: String, file: String, expected: String) throws -> YAMLMap {
        try root(yaml: yaml, expected: expected) { DefinitionError(file: file, key: $0, expected: $1) }
    }

    /// The top-level mapping of a pipeline file's YAML; `expected` says what it should hold.
    public static func root(yaml: String, expected: String, fail: @escaping (String, String) -> DefinitionError) throws -> YAMLMap {
        let loaded: Any?
        do {
            // Yams crashes constructing a mapping whose key is not a scalar (`? {a: 1}: x`), so
            // the document is checked as nodes first.
            if let node = try Yams.compose(yaml: yaml), let path = firstComplexKey(node) {
                throw fail(path, "a plain name as the key (a mapping or list cannot be a key)")
            }
            loaded = try Yams.load(yaml: yaml)
        } catch let error as DefinitionError {
            throw error
        } catch {
            throw fail("", "valid YAML (\(error))")
        }
        guard let root = loaded as? [String: Any] else { throw fail("", expected) }
        return YAMLMap(map: root, path: "", fail: fail)
    }

    /// Where a mapping key that is not a scalar sits (`guards`), or nil when every key is one.
    static func firstComplexKey(_ node: Node, path: String = "") -> String? {
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { return path.isEmpty ? "(top level)" : path }
                if let found = firstComplexKey(value, path: path.isEmpty ? name : path + "." + name) { return found }
            }
        case .sequence(let sequence):
            for (i, value) in sequence.enumerated() {
                if let found = firstComplexKey(value, path: "\(path)[\(i)]") { return found }
            }
        default:
            break
        }
        return nil
    }

    public mutating func allowOnly(_ keys: Set<String>) throws {
        if let unknown = map.keys.sorted().first(where: { !keys.contains($0) }) {
            throw fail(key(unknown), "one of the known keys (\(keys.sorted().joined(separator: ", ")))")
        }
    }

    public func string(_ k: String, required: Bool = false) throws -> String? {
        guard let v = map[k] else {
            if required { throw fail(key(k), "a value (it is required)") }
            return nil
        }
        if let s = v as? String { return s }
        if let i = v as? Int { return String(i) }
        throw fail(key(k), "text")
    }

    public func int(_ k: String) throws -> Int? {
        guard let v = map[k] else { return nil }
        guard let i = v as? Int, i > 0 else { throw fail(key(k), "a positive whole number") }
        return i
    }

    public func bool(_ k: String) throws -> Bool? {
        guard let v = map[k] else { return nil }
        guard let b = v as? Bool else { throw fail(key(k), "true or false") }
        return b
    }

    public func child(_ k: String) throws -> YAMLMap? {
        guard let v = map[k] else { return nil }
        guard let m = v as? [String: Any] else { throw fail(key(k), "a mapping") }
        return YAMLMap(map: m, path: key(k), fail: fail)
    }
}

extension YAMLMap {
    /// A scalar or a list of scalars, as text.
    public func stringList(_ k: String) throws -> [String] {
        guard let v = map[k] else { return [] }
        if let s = try? string(k) { return [s] }
        guard let list = v as? [Any] else { throw fail(key(k), "a value or a list of values") }
        return try list.map {
            if let s = $0 as? String { return s }
            if let i = $0 as? Int { return String(i) }
            throw fail(key(k), "a list of text values")
        }
    }
}

/// A definition read from a YAML file (a pipeline, an export).
public protocol YAMLDefinition {
    /// Parses YAML text; `file` names it in errors.
    static func parse(yaml: String, file: String) throws -> Self
}

extension YAMLDefinition {
    /// Reads and checks a definition file before any data is touched.
    public static func load(path: String) throws -> Self {
        try parse(yaml: try YAMLMap.text(ofFile: path), file: path)
    }
}

extension YAMLMap {
    /// A list of mappings (`notify: [- url: …]`), each keyed `k[i]` in errors; `[]` when absent.
    public func mapList(_ k: String, expected: String) throws -> [YAMLMap] {
        guard let v = map[k] else { return [] }
        guard let list = v as? [Any] else { throw fail(key(k), expected) }
        return try list.enumerated().map { i, item in
            let itemKey = "\(key(k))[\(i)]"
            guard let m = item as? [String: Any] else { throw fail(itemKey, "a mapping") }
            return YAMLMap(map: m, path: itemKey, fail: fail)
        }
    }

    /// A number that YAML may write as `10` or `0.5` (seconds), within `range`.
    public func number(_ k: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let v = map[k] else { return nil }
        // Bool is checked first: a YAML `true` must not pass as 1.
        let n: Double? = v is Bool ? nil : (v as? Int).map(Double.init) ?? (v as? Double)
        guard let n, n.isFinite, range.contains(n) else {
            throw fail(key(k), "a number from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))")
        }
        return n
    }

    /// A whole number within `range` (unlike `int`, zero may be allowed).
    public func wholeNumber(_ k: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let v = map[k] else { return nil }
        guard !(v is Bool), let i = v as? Int, range.contains(i) else {
            throw fail(key(k), "a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return i
    }

    private static func format(_ d: Double) -> String {
        d == d.rounded() ? String(Int(d)) : String(d)
    }
}
