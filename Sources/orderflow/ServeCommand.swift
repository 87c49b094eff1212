import ArgumentParser
import Console
import Foundation
import Hummingbird
import Logging
import OrderAPI
import OrderStore
import PostgresClient

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the order REST API (see docs/openapi.yaml) and the web console under /console/ (docs/console.md).",
        discussion: """
            Authentication: bearer tokens from ORDERFLOW_API_TOKENS (comma-separated) or --tokens-file
            (one per line). Without tokens the API only listens on a loopback address unless --insecure.
            The console signs in with any of those tokens and keeps a session cookie.
            SIGTERM or SIGINT stop it gracefully: open requests finish, then the connections close.
            """)

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var logging: LogOptions

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 3000

    @Option(help: "File with the accepted bearer tokens, one per line (default: ORDERFLOW_API_TOKENS_FILE).")
    var tokensFile: String?

    @Flag(help: "Allow a non-loopback address without authentication.")
    var insecure = false

    @Option(help: "Database connections (each on its own thread).")
    var poolSize = 8

    @Option(help: "Statement timeout in milliseconds.")
    var statementTimeout = 5_000

    @Option(help: "Lock wait timeout in milliseconds (a bulk import holding row locks delays a request at most this long).")
    var lockTimeout = 2_000

    @Option(help: "Largest request body in bytes.")
    var maxBody = 1 << 20

    @Option(help: "Console sessions end this many hours after sign-in.")
    var consoleSessionHours = 8

    @Option(help: "Console sessions end after this many minutes without a request.")
    var consoleIdleMinutes = 60

    @Flag(help: "Mark the console's session cookie Secure (set when users reach the console over HTTPS through a proxy).")
    var consoleSecureCookie = false

    @Flag(help: "Serve the API only, without the console.")
    var noConsole = false

    @Flag(help: "Apply missing migrations before serving.")
    var migrate = false

    @Option(help: "Log level: \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")).")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let configuration = try configuring {
            let configuration = try apiConfiguration()
            try configuration.validate()
            guard consoleSessionHours > 0, consoleIdleMinutes > 0 else {
                throw ValidationError("--console-session-hours and --console-idle-minutes must be positive")
            }
            return configuration
        }
        let conninfo = try failing {
            let conninfo = try db.resolve()
            let conn = try PostgresConnection(conninfo)
            if migrate { try Migrator().migrate(conn) } else { try Migrator().requireCurrent(conn) }
            return conninfo
        }
        if logging.logFormat == .json { logging.bootstrap() } else { LoggingSystem.bootstrap(StreamLogHandler.standardError) }
        var logger = Logger(label: "orderflow.api")
        logger.logLevel = logLevel

        // libpq gives up on an unreachable server after this long, so requests fail fast with 503.
        setenv("PGCONNECT_TIMEOUT", "3", 0)
        var poolConfiguration = PostgresConnectionPool.Configuration(
            conninfo: conninfo, size: poolSize, statementTimeoutMilliseconds: statementTimeout,
            lockTimeoutMilliseconds: lockTimeout, applicationName: OrderAPI.applicationName)
        if db.choice() == .embedded, let cluster = try? db.embeddedCluster() {
            poolConfiguration.currentConninfo = { cluster.runningState()?.url() }
        }
        let pool = PostgresConnectionPool(poolConfiguration)
        let sessions = ConsoleSessions(lifetime: .seconds(consoleSessionHours * 3600), idle: .seconds(consoleIdleMinutes * 60))
        let mounts: [any APIMount] = noConsole ? [] : [
            ConsoleRoutes(pool: pool, tokens: configuration.tokens, sessions: sessions, secureCookie: consoleSecureCookie),
        ]
        let app = OrderAPI.application(pool: pool, configuration: configuration, mounts: mounts, logger: logger)
        logger.info("orderflow API listening", metadata: [
            "address": "\(host):\(port)", "console": .string(noConsole ? "off" : "http://\(host):\(port)/console/"), "auth": .string(configuration.tokens.isEmpty ? "none" : "\(configuration.tokens.count) bearer token(s)"),
        ])
        defer { pool.shutdown() }
        do {
            try await app.runService()
        } catch {
            note("error: \(error)")
            throw Exit.failed
        }
    }

    func apiConfiguration() throws -> OrderAPIConfiguration {
        let env = ProcessInfo.processInfo.environment
        var tokens = OrderAPIConfiguration.parseTokens(env["ORDERFLOW_API_TOKENS"] ?? "")
        if let path = tokensFile ?? env["ORDERFLOW_API_TOKENS_FILE"] {
            tokens += OrderAPIConfiguration.parseTokens(try String(contentsOfFile: path, encoding: .utf8))
        }
        return OrderAPIConfiguration(host: host, port: port, tokens: tokens, insecure: insecure, maxBodyBytes: maxBody)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
