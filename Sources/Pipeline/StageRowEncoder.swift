import Foundation
import OrderModel
import PostgresClient

/// Writes staging rows in COPY text format into a byte buffer, in the column order of
/// `OrderDiffSQL.createLines`, so the server receives rows in their final shape.
///
/// Everything is appended as bytes (numbers, UUIDs in hex, the feed's validated values): this
/// loop runs once per line item, millions of times a run.
struct StageRowEncoder {
    var buffer: [UInt8] = []
    private var ids = UUIDv7Generator()
    private var newId = [UInt8](repeating: 0, count: 36)
    private let seenKeys: SeenKeys
    /// Set for a first load: checked groups that can only be creates go here, not to `buffer`.
    var firstLoad: FirstLoadRows?

    // The current group: adjacent rows of one order, held back until the key changes so the
    // group can be checked as a whole (rows agree, no product twice) and its first row can
    // carry the line count. Bounded by `maxLinesPerOrder`.
    private var groupKey: [UInt8] = []
    private var groupRows: [UInt8] = []
    private var groupRowStarts: [Int] = []
    private var groupPositions: [Int64] = []
    private var groupSignature: [UInt8] = []
    private var groupLines = 0
    private var groupRepeat = false
    /// Groups whose order is keyed by `order_id` (the diff joins by id only when there are any).
    private(set) var idKeyedGroups = 0
    private var groupFirstLoad = false
    private var groupTainted = false
    private var groupProblem: (RejectReason, String)?
    private var scratch: [UInt8] = []

    /// Orders with more line items than this are rejected (and memory stays bounded).
    static let maxLinesPerOrder = 10_000

    /// `seenKeys` is shared by the encoders of all inputs of a run: rows of one order may be in
    /// different files.
    init(seenKeys: SeenKeys = SeenKeys(), firstLoad: FirstLoadRows? = nil) {
        self.seenKeys = seenKeys
        self.firstLoad = firstLoad
        buffer.reserveCapacity(1 << 20 + 4096)
        groupRows.reserveCapacity(1 << 14)
    }

    /// Which COPY a chunk of bytes is for.
    enum Stream: Sendable { case staging, firstLoadOrders, firstLoadItems }

    /// Hands every buffer that holds at least `atLeast` bytes to `emit`, then empties it.
    mutating func flush(atLeast: Int, _ emit: (Stream, [UInt8]) throws -> Void) throws {
        if buffer.count >= atLeast {
            try emit(.staging, buffer)
            buffer.removeAll(keepingCapacity: true)
        }
        guard firstLoad != nil else { return }
        if firstLoad!.orders.count >= atLeast {
            try emit(.firstLoadOrders, firstLoad!.orders)
            firstLoad!.orders.removeAll(keepingCapacity: true)
        }
        if firstLoad!.items.count >= atLeast {
            try emit(.firstLoadItems, firstLoad!.items)
            firstLoad!.items.removeAll(keepingCapacity: true)
        }
    }

    /// Position of a record: the input's number in the high bits, its line in the low 40.
    static func position(file: Int, line: Int) -> Int64 { Int64(file) << 40 | Int64(line) }
    static func split(position: Int64) -> (file: Int, line: Int) { (Int(position >> 40), Int(position & 0xFF_FFFF_FFFF)) }

    /// A valid line item (or a delete). Adjacent rows of one order form a group that shares a
    /// new id and numbers its lines; the diff merges groups of one order that were not adjacent.
    /// `sameOrderFields`: the reader saw this row repeat the previous row's order-level bytes.
    mutating func appendRow(_ row: OrderRow, position: Int64, recordFirst: Bool, sameOrderFields: Bool = false) {
        let key = row.orderKey
        if key != groupKey || groupRowStarts.isEmpty {
            finishGroup()
            groupKey = key
            Self.writeHex(ids.next(), into: &newId)
            groupRepeat = !seenKeys.filter.insert(key)
            if key.first != UInt8(ascii: "~") { idKeyedGroups += 1 }
            groupFirstLoad = firstLoad != nil && key.first == UInt8(ascii: "~") && !groupRepeat && !row.isDelete
            Self.signature(row, into: &groupSignature)
        } else if groupProblem == nil {
            if !sameOrderFields { Self.signature(row, into: &scratch) }
            if !sameOrderFields && scratch != groupSignature {
                groupProblem = (.conflictingOrderRows, "the rows of this order disagree on order-level fields")
            }
        }
        if groupRowStarts.count >= Self.maxLinesPerOrder {
            groupProblem = groupProblem ?? (RejectReason("too_many_lines"), "an order may have at most \(Self.maxLinesPerOrder) line items")
            groupPositions.append(position)
            groupRowStarts.append(groupRows.count) // positions only: the rows become rejects
            return
        }
        if row.productId != nil { groupLines += 1 }
        let first = groupRowStarts.isEmpty
        groupRowStarts.append(groupRows.count)
        groupPositions.append(position)
        swap(&buffer, &groupRows)
        plain(recordFirst ? Self.t : Self.f)
        text(key[...])
        if first {
            optionalPlain(row.orderId); text(row.externalRef)
            plain(newId[...]); plain(row.isDelete ? Self.delete : Self.upsert)
            text(row.customerId); optionalPlain(row.status.map { Self.statusBytes[$0]! }); optionalPlain(row.currency); optionalPlain(row.createdAt)
            text(row.trackingCompany); text(row.trackingNumber)
        } else {
            // The group was checked to agree on these: only its first row carries them, which
            // spares the server parsing them again for every line item.
            for _ in 0..<10 { null() }
        }
        if row.productId == nil { null() } else { integer(Int64(groupLines)) }
        text(row.productId)
        if let q = row.quantity { integer(Int64(q)) } else { null() }
        if let p = row.unitPrice { plain(p) } else { null() }
        null(); null(last: true)
        swap(&buffer, &groupRows)
    }

    /// Writes the pending group: its rows (the first with the group's line count and whether its
    /// key may have been seen before), or, when the group failed a check, a reject per row.
    mutating func finishGroup() {
        defer {
            groupRows.removeAll(keepingCapacity: true)
            groupRowStarts.removeAll(keepingCapacity: true)
            groupPositions.removeAll(keepingCapacity: true)
            groupLines = 0
            groupProblem = nil
            groupTainted = false
        }
        guard !groupRowStarts.isEmpty else { return }
        if let (reason, message) = groupProblem {
            let key = groupKey
            // Rows of one NDJSON record share a position; only the first counts as a record.
            var previous: Int64 = -1
            for position in groupPositions {
                appendReject(position: position, orderKey: key, reason: reason, message: message, recordFirst: position != previous)
                previous = position
            }
            return
        }
        if groupFirstLoad && !groupTainted {
            firstLoad?.append(group: groupRows, starts: groupRowStarts)
            return
        }
        for (i, start) in groupRowStarts.enumerated() {
            let end = i + 1 < groupRowStarts.count ? groupRowStarts[i + 1] : groupRows.count
            integer(groupPositions[i])
            if i == 0 { integer(Int64(groupLines)); plain(groupRepeat ? Self.t : Self.f) } else { null(); null() }
            buffer.append(contentsOf: groupRows[start..<end])
        }
    }

    /// The order-level fields of a row, for comparing rows of one group (into a reused buffer).
    private static func signature(_ row: OrderRow, into s: inout [UInt8]) {
        s.removeAll(keepingCapacity: true)
        func add(_ part: ArraySlice<UInt8>?) {
            if let part { s.append(1); s.append(contentsOf: part) } else { s.append(0) }
        }
        add(row.externalRef); add(row.customerId); add(row.trackingCompany); add(row.trackingNumber)
        add(row.currency?[...]); add(row.createdAt?[...])
        add(row.status.map { statusBytes[$0]![...] })
        s.append(row.isDelete ? 1 : 0)
    }

    /// A rejected record: its position, key when known, and why.
    mutating func appendReject(position: Int64, orderKey: [UInt8]?, reason: RejectReason, message: String, recordFirst: Bool = true) {
        if firstLoad != nil, let orderKey {
            // The order of a rejected record is rejected whole, which the diff decides: its
            // group (pending now, or later in the feed) must be staged, not loaded.
            if orderKey == groupKey && !groupRowStarts.isEmpty { groupTainted = true }
            _ = seenKeys.filter.insert(orderKey)
        }
        integer(position); null(); null(); plain(recordFirst ? Self.t : Self.f); text(orderKey?[...])
        for _ in 0..<14 { null() }
        // NUL cannot travel in COPY text, and control characters make poor report lines.
        let clean = message.utf8.map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: "?") : $0 }
        text(Array(reason.code.utf8)[...]); text(clean[...], last: true)
    }

    private static let t = Array("t".utf8)[...], f = Array("f".utf8)[...]
    private static let delete = Array("delete".utf8)[...], upsert = Array("upsert".utf8)[...]
    private static let statusBytes = Dictionary(uniqueKeysWithValues: OrderStatus.allCases.map { ($0, Array($0.rawValue.utf8)) })

    private mutating func end(_ last: Bool) { buffer.append(last ? 0x0A : 0x09) }

    private mutating func null(last: Bool = false) {
        buffer.append(0x5C); buffer.append(0x4E)
        end(last)
    }

    private mutating func plain(_ bytes: ArraySlice<UInt8>, last: Bool = false) {
        buffer.append(contentsOf: bytes)
        end(last)
    }

    private mutating func optionalPlain(_ bytes: [UInt8]?) {
        if let bytes { buffer.append(contentsOf: bytes); end(false) } else { null() }
    }

    private mutating func integer(_ value: Int64) {
        var v = value
        if v < 0 { buffer.append(0x2D); v = -v }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(0x30 + v % 10)
                v /= 10
                n += 1
            } while v > 0
            for i in stride(from: n - 1, through: 0, by: -1) { buffer.append(d[i]) }
        }
        end(false)
    }

    private mutating func text(_ value: ArraySlice<UInt8>?, last: Bool = false) {
        guard let value else { null(last: last); return }
        CopyTextFormat.appendEscaped(value, to: &buffer)
        end(last)
    }

    /// Lower-case hyphenated hex, without Foundation's formatter.
    static func writeHex(_ uuid: UUID, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        withUnsafeBytes(of: uuid.uuid) { bytes in
            var o = 0
            for (i, b) in bytes.enumerated() {
                if i == 4 || i == 6 || i == 8 || i == 10 { out[o] = 0x2D; o += 1 }
                out[o] = hex[Int(b >> 4)]; out[o + 1] = hex[Int(b & 0x0F)]
                o += 2
            }
        }
    }
}

/// The order keys seen so far in a run, across its inputs (used by the reader thread only).
final class SeenKeys: @unchecked Sendable {
    var filter = KeyFilter()
    init() {}
}

/// A Bloom filter of the order keys seen so far, in fixed memory (16 MiB): tells, for the first
/// row of a group, whether its order may already have appeared earlier in the feed.
///
/// "No" is certain, so the diff can take a group as the whole order without aggregating;
/// "maybe" (a real repeat, or a rare false positive) sends the order to the merging path.
struct KeyFilter {
    private var bits = [UInt64](repeating: 0, count: 1 << 21)

    /// Adds `key`; returns false when it may have been added before.
    mutating func insert(_ key: [UInt8]) -> Bool {
        var h1: UInt64 = 14_695_981_039_346_656_037, h2: UInt64 = 0x9E37_79B9_7F4A_7C15
        for b in key {
            h1 = (h1 ^ UInt64(b)) &* 1_099_511_628_211
            h2 = (h2 ^ UInt64(b)) &* 0xBF58_476D_1CE4_E5B9
        }
        h2 |= 1
        var present = true
        let mask = UInt64(bits.count * 64 - 1)
        for i in 0..<3 {
            let bit = (h1 &+ UInt64(i) &* h2) & mask
            let word = Int(bit >> 6), m: UInt64 = 1 << (bit & 63)
            if bits[word] & m == 0 { present = false; bits[word] |= m }
        }
        return !present
    }
}
