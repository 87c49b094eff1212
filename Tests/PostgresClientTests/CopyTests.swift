import Foundation
import PostgresClient
import OrderflowTestSupport
import Testing

@Suite("COPY in and out")
struct CopyTests {
    static let rowCount = 200_000

    @Test func copyInAndOut200kRows() throws {
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            try conn.execute("CREATE TABLE t (id int, name text, note text)")
            let copied = try conn.copyIn("COPY t FROM STDIN", bufferSize: 64 << 10) { w in
                for i in 0..<Self.rowCount {
                    try w.appendPlainField(String(i))
                    try w.appendField("name \(i)\twith tab\\ and \"quote\"\n")
                    if i % 3 == 0 { try w.appendNull(last: true) } else { try w.appendField("ü\r", last: true) }
                }
            }
            #expect(copied == Self.rowCount)
            let check = try conn.query("""
                SELECT count(*) AS n, count(note) AS notes, sum(id)::bigint AS total,
                       bool_and(name = 'name ' || id || E'\\twith tab\\\\ and "quote"\\n') AS names_ok
                FROM t
                """).rows[0]
            #expect(try check.decode("n", as: Int.self) == Self.rowCount)
            #expect(try check.decode("notes", as: Int.self) == Self.rowCount - (Self.rowCount + 2) / 3)
            #expect(try check.decode("total", as: Int64.self) == Int64(Self.rowCount) * Int64(Self.rowCount - 1) / 2)
            #expect(try check.decode("names_ok", as: Bool.self))

            var bytes = 0, lines = 0
            var firstLine: [UInt8] = []
            let out = try conn.copyOut("COPY (SELECT * FROM t ORDER BY id) TO STDOUT") { chunk in
                if lines == 0 { firstLine = Array(chunk) }
                bytes += chunk.count
                lines += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            }
            #expect(out == Self.rowCount)
            #expect(lines == Self.rowCount)
            #expect(bytes > Self.rowCount * 20)
            #expect(String(decoding: firstLine, as: UTF8.self) == "0\tname 0\\twith tab\\\\ and \"quote\"\\n\t\\N\n")
        }
    }

    @Test func binaryFormatValuesArriveExactly() throws {
        typealias Binary = CopyBinaryFormat
        let prices: [(Int64, Int)] = [(0, 0), (0, 2), (10, 2), (9399, 2), (100, 0), (1_234_567_891_234, 6), (1, 6), (10_000, 0),
                                      (9_999_999_999, 2), (-55, 1), (100_000_000, 4), (123_456_789_012_345_678, 0)]
        let texts: [[UInt8]] = [Array("plain".utf8), Array(#"tab\tnewline\nback\\slash\rcr"#.utf8), Array("ü€".utf8), []]
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            try conn.execute("CREATE TABLE b (n int, id uuid, price numeric, at timestamptz, note text)")
            _ = try conn.copyIn("COPY b FROM STDIN WITH (FORMAT binary)") { w in
                var buffer = Binary.header
                for (n, (significand, scale)) in prices.enumerated() {
                    Binary.beginTuple(fields: 5, in: &buffer)
                    Binary.appendInt32(Int32(n), to: &buffer)
                    #expect(Binary.appendUUID(hex: Array("0190a000-0000-7000-8000-0000000000\(String(format: "%02x", n))".utf8)[...], to: &buffer))
                    Binary.appendNumeric(significand: significand, scale: scale, to: &buffer)
                    Binary.appendTimestamp(unixMicroseconds: 1_790_000_000_123_456 + Int64(n), to: &buffer)
                    if n < texts.count { Binary.appendTextUnescaping(texts[n][...], to: &buffer) } else { Binary.appendNull(to: &buffer) }
                }
                buffer += Binary.trailer
                try w.write(buffer)
            }
            let rows = try conn.query("SELECT n, id::text AS id, price::text AS price, (extract(epoch FROM at) * 1000000)::bigint AS at, note FROM b ORDER BY n").rows
            #expect(rows.count == prices.count)
            for (n, row) in rows.enumerated() {
                let (significand, scale) = prices[n]
                var expected = String(significand.magnitude)
                if scale > 0 {
                    expected = String(repeating: "0", count: max(0, scale + 1 - expected.count)) + expected
                    expected.insert(".", at: expected.index(expected.endIndex, offsetBy: -scale))
                }
                if significand < 0 { expected = "-" + expected }
                #expect(try row.decode("price", as: String.self) == expected)
                #expect(try row.decode("id", as: String.self) == "0190a000-0000-7000-8000-0000000000" + String(format: "%02x", n))
                #expect(try row.decode("at", as: Int64.self) == 1_790_000_000_123_456 + Int64(n))
            }
            #expect(try rows[1].decode("note", as: String.self) == "tab\tnewline\nback\\slash\rcr")
            #expect(try rows[2].decode("note", as: String.self) == "ü€")
            #expect(try rows[3].decode("note", as: String.self) == "")
            #expect(try rows[4].decode("note", as: String?.self) == nil)
        }
    }

    @Test func abortedCopyLeavesTableAsItWas() throws {
        struct Stop: Error {}
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            try conn.execute("CREATE TABLE t (id int)")
            try conn.execute("INSERT INTO t SELECT generate_series(1, 10)")
            #expect(throws: Stop.self) {
                try conn.copyIn("COPY t FROM STDIN", bufferSize: 4096) { w in
                    for i in 0..<100_000 { try w.appendPlainField(String(i), last: true) }
                    throw Stop()
                }
            }
            #expect(try conn.query("SELECT count(*) AS n FROM t").rows[0].decode("n", as: Int.self) == 10)
            #expect(!conn.inTransaction)
        }
    }

    @Test func badCopyDataIsAServerErrorWithContext() throws {
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            try conn.execute("CREATE TABLE t (id int)")
            let error = try #require(throws: PostgresError.self) {
                try conn.copyIn("COPY t FROM STDIN") { w in
                    try w.write("1\n2\nnot a number\n")
                }
            }
            #expect(error.sqlState == "22P02")
            #expect(error.context?.contains("line 3") == true)
            #expect(try conn.query("SELECT count(*) AS n FROM t").rows[0].decode("n", as: Int.self) == 0)
        }
    }

    @Test func copyOutStoppedByCallerKeepsConnectionUsable() throws {
        struct Enough: Error {}
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            var seen = 0
            #expect(throws: Enough.self) {
                try conn.copyOut("COPY (SELECT generate_series(1, 2000000)) TO STDOUT") { _ in
                    seen += 1
                    if seen == 10 { throw Enough() }
                }
            }
            let after = try conn.query("SELECT 7 AS n").rows[0]
            #expect(try after.decode("n", as: Int.self) == 7)
        }
    }

    @Test func copyThroughExecuteIsRefused() throws {
        try TestDatabase.withFreshDatabase(migrated: false) { conn, _ in
            try conn.execute("CREATE TABLE t (id int)")
            #expect(throws: PostgresError.self) { try conn.execute("COPY t FROM STDIN") }
            #expect(try conn.query("SELECT 1 AS n").rows[0].decode("n", as: Int.self) == 1)
        }
    }
}
