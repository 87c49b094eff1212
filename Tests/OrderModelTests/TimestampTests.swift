import Foundation
import OrderModel
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2024-09-17T03:21:38.892Z", "2024-09-17T03:21:38.892Z"),
        ("2024-09-17T05:21:38.892+02:00", "2024-09-17T03:21:38.892Z"),
        ("2024-09-16T22:21:38.892-05:00", "2024-09-17T03:21:38.892Z"),
        ("2024-02-29t00:00:00z", "2024-02-29T00:00:00.000Z"),
        ("1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999Z"),
        ("2026-11-26 11:53:16.123456+00", "2026-11-26T11:53:16.123Z"),
        ("2026-11-26T11:53:16.123456789Z", "2026-11-26T11:53:16.123Z"),
    ])
    func parsesAndPrintsUTC(input: String, printed: String) throws {
        let t = try #require(Timestamp(rfc3339: input))
        #expect(t.description == printed)
    }

    @Test func agreesWithFoundation() throws {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for seconds in stride(from: -2_000_000_000, through: 4_000_000_000, by: 37_777_777) {
            let date = Date(timeIntervalSince1970: Double(seconds) + 0.25)
            let text = f.string(from: date)
            let t = try #require(Timestamp(rfc3339: text))
            #expect(t.microseconds == Int64(seconds) * 1_000_000 + 250_000)
            #expect(t.description == text)
        }
    }

    @Test(arguments: ["", "2024-09-17", "2024-09-17T03:21:38", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                      "2024-09-17T24:00:00Z", "2024-09-17T03:21:38.Z", "2024-09-17T03:21:38Zjunk", "2024-09-17T03:21:38+2:00"])
    func rejects(input: String) {
        #expect(Timestamp(rfc3339: input) == nil)
    }

    @Test func zoneLessOnlyWhenAskedFor() {
        #expect(Timestamp(rfc3339: "2024-09-17T03:21:38") == nil)
        #expect(Timestamp(rfc3339: "2024-09-17T03:21:38", assumeUTC: true)?.description == "2024-09-17T03:21:38.000Z")
    }
}
