import Feeds
import Foundation
import OrderModel
import OrderStore
import PostgresClient
import RunSupport

extension PipelineRun {
    /// Reader thread → bounded channel → COPY on this thread: parsing overlaps with the server.
    /// `read` reads one input (path, file number) into COPY chunks.
    /// `textRows`: the chunks are COPY text, whose newlines count the rows for the progress line.
    func stage(_ conn: PostgresConnection, copy: String, inputs: [String], sizes: [Int64], textRows: Bool = true,
               read: @escaping @Sendable (String, Int, inout OrderFeedReader.Stats, (Int64) -> Void, ([UInt8]) throws -> Void) throws -> Void) throws -> OrderFeedReader.Stats {
        let channel = BoundedChannel<[UInt8]>(capacity: 8)
        let meter = ProgressMeter(totalBytes: sizes.reduce(0, +), countsRows: textRows)
        let reader = WorkerThread(name: "orderflow.reader", stackSize: 8 << 20) {
            var stats = OrderFeedReader.Stats()
            do {
                var done: Int64 = 0
                for (i, path) in inputs.enumerated() {
                    try read(path, i, &stats, { meter.update(done + $0) }) { try channel.send($0) }
                    done += sizes[i]
                }
                channel.finish()
                return stats
            } catch {
                channel.finish(error: error)
                throw error
            }
        }
        do {
            try conn.copyIn(copy, bufferSize: options.chunkSize) { writer in
                while let chunk = try channel.receive() {
                    try options.checkCancelled()
                    try writer.write(chunk)
                    FaultInjection.point("read+stage: first chunk")
                    meter.show(rows: chunk)
                }
            }
            meter.finish()
        } catch {
            meter.finish()
            channel.cancel()
            _ = reader.wait()
            if let missing = error as? OrderFeedReader.MissingColumns { throw RunError.configuration(missing.description) }
            throw error
        }
        return try reader.wait().get()
    }
}
