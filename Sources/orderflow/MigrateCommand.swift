import ArgumentParser
import OrderStore
import PostgresClient

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the schema (idempotent).")

    @OptionGroup var db: DatabaseOptions

    func run() throws {
        try failing {
            let conn = try db.connect()
            let outcome = try Migrator().migrate(conn)
            print(Self.describe(outcome, target: conn.target))
        }
    }

    static func describe(_ outcome: Migrator.Outcome, target: String) -> String {
        if outcome.unchanged {
            return "schema is up to date at version \(outcome.version) (\(target)); nothing to do"
        }
        var parts: [String] = []
        if !outcome.applied.isEmpty {
            let names = Migrations.all.filter { outcome.applied.contains($0.version) }.map { "\($0.version) (\($0.name))" }
            parts.append("applied migration\(names.count == 1 ? "" : "s") \(names.joined(separator: ", "))")
        }
        if outcome.transitionsSynced { parts.append("wrote the status transition rules") }
        return "schema at version \(outcome.version) (\(target)): " + parts.joined(separator: "; ")
    }
}
