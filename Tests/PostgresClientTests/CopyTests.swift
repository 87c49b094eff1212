import Foundation
import PostgresClient
import PostgresTestSupport
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
