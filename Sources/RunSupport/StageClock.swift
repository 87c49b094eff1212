import Foundation

/// How long one stage of a run or export took, and how many rows it handled.
public struct StageTiming: Codable, Sendable, Equatable {
    public var name: String
    public var seconds: Double
    public var rows: Int
    public var rowsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }

    enum CodingKeys: String, CodingKey { case name, seconds, rows, rowsPerSecond }
    public init(name: String, seconds: Double, rows: Int) {
        self.name = name
        self.seconds = seconds
        self.rows = rows
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        seconds = try c.decode(Double.self, forKey: .seconds)
        rows = try c.decode(Int.self, forKey: .rows)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode((seconds * 1000).rounded() / 1000, forKey: .seconds)
        try c.encode(rows, forKey: .rows)
        try c.encode(rowsPerSecond.rounded(), forKey: .rowsPerSecond)
    }
}

/// Times the stages of a run or an export for its report. Each stage start is also a fault
/// injection point (`FaultInjection`).
public final class StageClock {
    /// The stages so far, in the order they first ran; a repeated name adds to its stage.
    public private(set) var stages: [StageTiming] = []

    public init() {}

    /// Times `body` as stage `name`, which handled `rows` rows.
    public func measure<T>(_ name: String, rows: Int = 0, _ body: () throws -> T) rethrows -> T {
        try measure(name, rows: { _ in rows }, body)
    }

    /// Times `body` as stage `name`; `rows` reads the row count off its result.
    public func measure<T>(_ name: String, rows: (T) -> Int, _ body: () throws -> T) rethrows -> T {
        FaultInjection.point(name)
        let start = DispatchTime.now().uptimeNanoseconds
        let value = try body()
        record(name, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, rows: rows(value))
        return value
    }

    /// Adds a stage timed elsewhere (one that overlaps others, say).
    public func record(_ name: String, seconds: Double, rows: Int) {
        if let i = stages.firstIndex(where: { $0.name == name }) {
            stages[i].seconds += seconds
            stages[i].rows += rows
        } else {
            stages.append(StageTiming(name: name, seconds: seconds, rows: rows))
        }
    }
}
