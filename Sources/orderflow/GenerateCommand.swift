import ArgumentParser
import Foundation
import Pipeline
import SyntheticFeeds

/// `orderflow generate`: synthetic feeds for demos, tests and benchmarks.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Writes synthetic, reproducible feeds.",
        subcommands: [Orders.self, Tracking.self])

    /// `orderflow generate orders`: an order feed, or a later snapshot of one.
    struct Orders: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "orders",
            abstract: "An order feed (canonical CSV, NDJSON, or a legacy ERP's CSV).",
            discussion: """
                The same --orders and --seed always give the same orders, in every format. \
                Any of --change-rate, --drop-rate or --new-orders makes a later snapshot of that feed: \
                some orders move their status forward, get tracking or a changed line item, \
                some are left out (a mirror run deletes them), and new ones are appended.

                Output is gzip'd when the file name ends in .gz; `-o -` writes to standard output.
                """)

        @Option(help: "Number of base orders.") var orders: Int
        @Option(help: "Seed; the same seed gives the same orders.") var seed: UInt64 = 1
        @Option(help: "csv (canonical), ndjson, or legacy-erp-csv (OrderNo,Cust,State,…).")
        var format: OrderFeedGenerator.Format = .csv
        @Option(help: "External refs are PREFIX-NNNNNN.") var prefix = "ERP"
        @Option(help: "Number of the first external ref.") var startRef = 1
        @Option(help: "Snapshot: share of orders that change (0…1).") var changeRate: Double?
        @Option(help: "Snapshot: share of orders left out (0…1).") var dropRate: Double?
        @Option(help: "Snapshot: orders appended after the base ones.") var newOrders: Int?
        @Option(help: "gzip level, 1 (fastest) … 9 (smallest).") var gzipLevel: Int32 = 6
        @Option(name: [.short, .customLong("output")], help: "Output file; .gz compresses; - is stdout.")
        var output: String

        func validate() throws {
            guard orders >= 0 else { throw ValidationError("--orders must not be negative") }
            guard startRef >= 0 else { throw ValidationError("--start-ref must not be negative") }
            guard OrderFeedGenerator.isValidPrefix(prefix) else {
                throw ValidationError("--prefix must be 1-32 ASCII letters, digits, '_' or '-'")
            }
            for (name, rate) in [("--change-rate", changeRate), ("--drop-rate", dropRate)] {
                if let rate, !(0...1).contains(rate) { throw ValidationError("\(name) must be between 0 and 1") }
            }
            guard (changeRate ?? 0) + (dropRate ?? 0) <= 1 else {
                throw ValidationError("--change-rate and --drop-rate together must not exceed 1")
            }
            guard (newOrders ?? 0) >= 0 else { throw ValidationError("--new-orders must not be negative") }
            guard (1...9).contains(gzipLevel) else { throw ValidationError("--gzip-level must be 1...9") }
        }

        func run() throws {
            try failing {
                var generator = OrderFeedGenerator(orders: orders, seed: seed, prefix: prefix, startRef: startRef)
                generator.gzipLevel = gzipLevel
                if changeRate != nil || dropRate != nil || newOrders != nil {
                    generator.mutation = .init(changeRate: changeRate ?? 0, dropRate: dropRate ?? 0, newOrders: newOrders ?? 0)
                }
                let gzip = output.hasSuffix(".gz")
                let started = Date()
                let summary = try generator.write(format, to: output, gzip: gzip)
                let seconds = Date().timeIntervalSince(started)
                var message = "wrote \(summary.orders) orders (\(summary.lineItems) line items) to "
                message += output == "-" ? "standard output" : output
                if generator.mutation != nil {
                    message += ": \(summary.changed) changed, \(summary.dropped) left out, \(summary.added) new"
                }
                message += "; " + Self.size(summary.uncompressedBytes)
                if gzip { message += " (\(Self.size(summary.fileBytes)) gzip'd)" }
                message += String(format: " in %.2f s", seconds)
                note(message)
            }
        }

        static func size(_ bytes: Int64) -> String {
            bytes < 1 << 20 ? String(format: "%.1f KiB", Double(bytes) / 1024) : String(format: "%.1f MiB", Double(bytes) / 1_048_576)
        }
    }
}

extension OrderFeedGenerator.Format: ExpressibleByArgument {}
extension TrackingFeedGenerator.Style: ExpressibleByArgument {}

extension GenerateCommand {
    /// `orderflow generate tracking`: carrier events for the shipments of a generated order feed.
    struct Tracking: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tracking",
            abstract: "Tracking events for the orders `generate orders` writes with the same --orders and --seed.",
            discussion: """
                Events match the orders' (carrier, tracking number), move each order forward along legal \
                transitions a few hours apart, and come in shuffled order within a shipment. --style picks \
                the canonical feed (csv, ndjson: AfterShip tags as codes) or one carrier's export shape \
                (fedex, ups, dhl, usps), read by pipelines/tracking-<style>.yaml.
                """)

        @Option(help: "Number of base orders of the order feed.") var orders: Int
        @Option(help: "Seed of the order feed.") var seed: UInt64 = 1
        @Option(help: "csv, ndjson, fedex, ups, dhl or usps.") var style: TrackingFeedGenerator.Style = .csv
        @Option(help: "Mean events per shipment (≥ 1).") var eventsPerShipment = 1.5
        @Option(help: "Share of extra events for unknown tracking numbers.") var unknownRate = 0.0
        @Option(help: "Share of extra events with an unmapped code.") var unknownCodeRate = 0.0
        @Option(help: "Canonical styles: share of processing orders given a tracking number by an event naming them.") var attachRate = 0.0
        @Option(help: "External refs of the order feed are PREFIX-NNNNNN.") var prefix = "ERP"
        @Option(help: "Shipments of a later snapshot: its --change-rate (as for generate orders).") var changeRate: Double?
        @Option(help: "Shipments of a later snapshot: its --drop-rate.") var dropRate: Double?
        @Option(help: "Shipments of a later snapshot: its --new-orders.") var newOrders: Int?
        @Option(name: [.short, .customLong("output")], help: "Output file; .gz compresses.") var output: String

        func validate() throws {
            guard orders >= 0 else { throw ValidationError("--orders must not be negative") }
            guard eventsPerShipment >= 1 else { throw ValidationError("--events-per-shipment must be at least 1") }
            for (name, rate) in [("--unknown-rate", unknownRate), ("--unknown-code-rate", unknownCodeRate), ("--attach-rate", attachRate)] {
                guard (0...1).contains(rate) else { throw ValidationError("\(name) must be between 0 and 1") }
            }
        }

        func run() throws {
            try failing {
                var generator = TrackingFeedGenerator(orders: orders, seed: seed, style: style)
                generator.eventsPerShipment = eventsPerShipment
                generator.unknownRate = unknownRate
                generator.unknownCodeRate = unknownCodeRate
                generator.attachRate = attachRate
                generator.prefix = prefix
                if changeRate != nil || dropRate != nil || newOrders != nil {
                    generator.mutation = .init(changeRate: changeRate ?? 0, dropRate: dropRate ?? 0, newOrders: newOrders ?? 0)
                }
                let started = Date()
                let summary = try generator.write(to: output, gzip: output.hasSuffix(".gz"))
                note(String(format: "wrote %d events for %d shipments (%d unknown shipments, %d unknown codes) to %@, %@ in %.2f s",
                            summary.events, summary.shipments, summary.unknownShipments, summary.unknownCodes, output,
                            Orders.size(summary.fileBytes), Date().timeIntervalSince(started)))
            }
        }
    }
}
