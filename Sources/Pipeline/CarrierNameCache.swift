import Feeds
import Foundation
import OrderModel
import PostgresClient

/// Carrier names as the feeds spell them → the canonical name's bytes. Feeds repeat a handful
/// of spellings, so each is normalized once per reader.
struct CarrierNameCache {
    private var names: [ArraySlice<UInt8>: [UInt8]] = [:]

    mutating func canonical(_ raw: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        if let known = names[raw] { return known[...] }
        let name = Array((Carrier.normalizedName(String(decoding: raw, as: UTF8.self)) ?? "").utf8)
        if names.count < 10_000 { names[raw] = name }
        return name[...]
    }

    /// Trimmed (by the reader) and upper-cased, as `Carrier.normalizedTrackingNumber` does.
    static func normalizedTrackingNumber(_ raw: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard raw.contains(where: { $0 >= 0x61 && $0 <= 0x7A }) else { return raw }
        return Array(raw.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 })[...]
    }
}
