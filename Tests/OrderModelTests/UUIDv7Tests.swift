import Foundation
import OrderModel
import Testing

@Suite struct UUIDv7Tests {
    @Test func versionVariantTimeAndOrder() {
        var gen = UUIDv7Generator()
        let now = Date(timeIntervalSince1970: 1_790_000_000.123)
        var previous = ""
        for _ in 0..<10_000 {
            let id = gen.next(now: now)
            let text = id.uuidString.lowercased()
            let chars = Array(text)
            #expect(chars[14] == "7")
            #expect("89ab".contains(chars[19]))
            #expect(text > previous) // monotonic even within one millisecond
            previous = text
        }
        let first = gen.next(now: Date(timeIntervalSince1970: 1_790_000_100))
        let millis = UInt64(first.uuidString.replacingOccurrences(of: "-", with: "").prefix(12), radix: 16)
        #expect(millis == 1_790_000_100_000)
    }
}
