import Feeds
import Foundation
import OrderModel
import OrderStore
import PostgresClient
import RunSupport

extension PipelineRun {
    /// A first load (see `FirstLoadRows`): reads the feed once, COPYing orders that can only be
    /// creates straight into `orders` while it reads, their items into `order_items` after, and
    /// everything else into the staging table. Nil when a staged row names one of the orders
    /// loaded directly; the caller then rolls back to its savepoint and stages everything.
    func firstLoad(_ conn: PostgresConnection, inputs: [String], sizes: [Int64], clock: StageClock,
                           now: Timestamp) throws -> OrderFeedReader.Stats? {
        let items = try SpoolFile(purpose: "items"), staged = try SpoolFile(purpose: "staging")
        let reader = OrderFeedReader(definition: definition, chunkSize: options.chunkSize,
                                     firstLoad: (source: definition.source, now: now))
        try items.write(CopyBinaryFormat.header)
        let stats = try clock.measure("read+load orders", rows: { $0.firstLoadOrders }) {
            try stage(conn, copy: OrderDiffSQL.copyFirstLoadOrders, inputs: inputs, sizes: sizes, textRows: false) { path, i, stats, progress, emit in
                // One binary stream over all inputs: its header before the first, trailer after the last.
                if i == 0 { try emit(CopyBinaryFormat.header) }
                try reader.read(path: path, fileNumber: i, stats: &stats, progress: progress) { stream, chunk in
                    switch stream {
                    case .firstLoadOrders: try emit(chunk)
                    case .firstLoadItems: try items.write(chunk)
                    case .staging: try staged.write(chunk)
                    }
                }
                if i == inputs.count - 1 { try emit(CopyBinaryFormat.trailer) }
            }
        }
        try items.write(CopyBinaryFormat.trailer)
        try clock.measure("load items", rows: stats.firstLoadLines) {
            try options.checkCancelled()
            _ = try conn.copyIn(OrderDiffSQL.copyFirstLoadItems) { try items.copy(into: &$0) }
        }
        try clock.measure("stage the rest", rows: stats.records - stats.firstLoadRecords) {
            try options.checkCancelled()
            _ = try conn.copyIn(OrderDiffSQL.copyLines) { try staged.copy(into: &$0) }
        }
        let overlap = try conn.query(PostgresQuery(unsafeSQL: OrderDiffSQL.firstLoadOverlap, binds: [definition.source]))
        return try overlap.rows[0].decode("overlap", as: Bool.self) ? nil : stats
    }
}
