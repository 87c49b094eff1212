import ArgumentParser
import EmbeddedPostgres

struct DBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Manage the embedded PostgreSQL cluster (under ./.orderflow by default).",
        subcommands: [Start.self, Stop.self, Status.self, URLCommand.self])

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Initialize (first time) and start the cluster.")
        @OptionGroup var db: DatabaseOptions
        func run() throws {
            try failing {
                let cluster = try db.embeddedCluster()
                let was = cluster.isRunning()
                let state = try cluster.start()
                print(was ? "already running: \(state.url())" : "started: \(state.url())")
            }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the cluster (its data stays).")
        @OptionGroup var db: DatabaseOptions
        func run() throws {
            try failing {
                let cluster = try db.embeddedCluster()
                if cluster.isRunning() {
                    try cluster.stop()
                    print("stopped (\(cluster.directory.path))")
                } else {
                    print("not running (\(cluster.directory.path))")
                }
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether the cluster runs, and where.")
        @OptionGroup var db: DatabaseOptions
        func run() throws {
            try failing {
                let cluster = try db.embeddedCluster()
                if let state = cluster.runningState() {
                    print("running: \(state.url())  (data: \(cluster.directory.path))")
                } else {
                    print(cluster.isInitialized ? "stopped (data: \(cluster.directory.path))" : "not initialized (would be \(cluster.directory.path))")
                    throw ExitCode(1)
                }
            }
        }
    }

    struct URLCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "url", abstract: "Print the cluster's URL (starting it if needed).")
        @OptionGroup var db: DatabaseOptions
        func run() throws {
            try failing { print(try db.embeddedCluster().start().url()) }
        }
    }
}
