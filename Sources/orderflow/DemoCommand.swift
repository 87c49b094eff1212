import ArgumentParser
import OrderStore
import PostgresClient

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "End to end on the embedded database: migrate, then the sample pipelines.")

    @OptionGroup var db: DatabaseOptions

    func run() throws {
        try failing {
            let conn = try db.connect()
            let outcome = try Migrator().migrate(conn)
            print(MigrateCommand.describe(outcome, target: conn.target))
            let counts = try conn.query("""
                SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM order_items) AS items,
                       (SELECT count(*) FROM import_runs) AS runs
                """).rows[0]
            print("database ready: \(counts["orders"] ?? "0") orders, \(counts["items"] ?? "0") line items, \(counts["runs"] ?? "0") import runs")
        }
    }
}
