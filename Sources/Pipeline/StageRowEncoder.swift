import Foundation
import OrderModel

/// Writes staging rows in COPY text format into a byte buffer, in the column order of
/// `StageSQL.createLines`, so the server receives rows in their final shape.
struct StageRowEncoder {
    var buffer: [UInt8] = []
    private var ids = UUIDv7Generator()
    private var previousKey: String?
    private var previousNewId: UUID?
    private var lineNo = 0

    init() { buffer.reserveCapacity(1 << 20 + 4096) }

    /// Position of a record: the input's number in the high bits, its line in the low 40.
    static func position(file: Int, line: Int) -> Int64 { Int64(file) << 40 | Int64(line) }
    static func split(position: Int64) -> (file: Int, line: Int) { (Int(position >> 40), Int(position & 0xFF_FFFF_FFFF)) }

    /// A valid line item. Adjacent rows of one order share a new id and count their line numbers;
    /// the diff repairs orders whose rows were not adjacent.
    mutating func appendRow(_ row: OrderRow, position: Int64, recordFirst: Bool) {
        let key = row.orderKey!
        if key != previousKey {
            previousKey = key
            previousNewId = ids.next()
            lineNo = 0
        }
        lineNo += 1
        plain(String(position)); plain(recordFirst ? "t" : "f")
        text(key); plain(row.orderId?.uuidString.lowercased()); text(row.externalRef)
        plain(previousNewId!.uuidString.lowercased()); plain(row.action)
        text(row.customerId); plain(row.status); plain(row.currency); plain(row.createdAt?.exactDescription)
        text(row.trackingCompany); text(row.trackingNumber)
        plain(row.productId == nil ? nil : String(lineNo)); text(row.productId)
        plain(row.quantity.map { String($0) }); plain(row.unitPrice?.description)
        plain(nil); plain(nil, last: true)
    }

    /// A rejected record: its position, key when known, and why.
    mutating func appendReject(position: Int64, orderKey: String?, reason: RejectReason, message: String) {
        plain(String(position)); plain("t"); text(orderKey)
        for _ in 0..<14 { plain(nil) }
        // NUL cannot travel in COPY text, and control characters make poor report lines.
        let clean = String(String.UnicodeScalarView(message.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
        text(reason.code); text(clean, last: true)
    }

    private mutating func plain(_ value: String?, last: Bool = false) {
        if var value {
            value.withUTF8 { buffer.append(contentsOf: $0) }
        } else {
            buffer.append(0x5C); buffer.append(0x4E)
        }
        buffer.append(last ? 0x0A : 0x09)
    }

    private mutating func text(_ value: String?, last: Bool = false) {
        guard var value else { plain(nil, last: last); return }
        value.withUTF8 { bytes in
            for b in bytes {
                switch b {
                case 0x5C: buffer.append(0x5C); buffer.append(0x5C)
                case 0x09: buffer.append(0x5C); buffer.append(0x74)
                case 0x0A: buffer.append(0x5C); buffer.append(0x6E)
                case 0x0D: buffer.append(0x5C); buffer.append(0x72)
                default: buffer.append(b)
                }
            }
        }
        buffer.append(last ? 0x0A : 0x09)
    }
}
