import Foundation
import PostgresClient

/// A private PostgreSQL cluster in a directory of its own, for the demo, the tests and
/// users without a server: `initdb` once, then `pg_ctl start/stop` on a Unix socket.
///
/// PostgreSQL refuses to run as root, so when we are root the server runs as the `postgres`
/// user (through `runuser`) and is given the cluster directory.
public struct EmbeddedPostgres: Sendable {
    /// Options for a cluster; the defaults suit a developer machine.
    public struct Options: Sendable {
        /// Superuser name created by initdb.
        public var user = "orderflow"
        /// The database created after the first start.
        public var database = "orderflow"
        /// Turn off fsync for throwaway clusters (tests), which is several times faster.
        public var durable = true
        /// Extra `-c name=value` server settings.
        public var settings: [String: String] = [:]
        public init() {}
    }

    /// The cluster's directory (holds `data/`, `server.log`, `cluster.json`).
    public let directory: URL
    public let options: Options
    public let binaries: PostgresBinaries

    public init(directory: URL, options: Options = Options(), binaries: PostgresBinaries? = nil) throws {
        self.directory = directory.standardizedFileURL
        self.options = options
        self.binaries = try binaries ?? PostgresBinaries.locate()
    }

    /// Where the server keeps its data (`PGDATA`).
    public var dataDirectory: URL { directory.appendingPathComponent("data") }
    var logFile: URL { directory.appendingPathComponent("server.log") }
    var stateFile: URL { directory.appendingPathComponent("cluster.json") }

    /// Where the Unix socket lives. Socket paths are limited to ~107 bytes, so a deep cluster
    /// directory gets a short one under /tmp, named after the directory.
    var socketDirectory: URL {
        let inside = directory.appendingPathComponent("sock")
        if inside.path.utf8.count < 80 { return inside }
        var hash: UInt64 = 14_695_981_039_346_656_037
        for b in directory.path.utf8 { hash = (hash ^ UInt64(b)) &* 1_099_511_628_211 }
        return URL(fileURLWithPath: "/tmp/orderflow-pg-\(String(hash, radix: 36))")
    }

    /// The state of a running cluster, saved so other processes (`db url`) can find it.
    public struct State: Codable, Sendable, Equatable {
        public var port: Int
        public var socketDirectory: String
        public var user: String
        public var database: String

        /// A libpq URL for the database (no password: the socket uses trust auth, and only
        /// the cluster's own directory can reach it).
        public func url(database db: String? = nil) -> String {
            let socket = socketDirectory.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~"))) ?? socketDirectory
            return "postgresql://\(user)@/\(db ?? database)?host=\(socket)&port=\(port)"
        }
    }

    public var isInitialized: Bool {
        FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path)
    }

    /// Whether the server is running (asks `pg_ctl status`).
    public func isRunning() -> Bool {
        guard isInitialized else { return false }
        return (try? run(binaries.pgCtl, ["status", "-D", dataDirectory.path], allowFailure: true).status) == 0
    }

    /// The saved state when the server is running.
    public func runningState() -> State? {
        guard isRunning(), let data = try? Data(contentsOf: stateFile) else { return nil }
        return try? JSONDecoder().decode(State.self, from: data)
    }

    /// Initializes (first time) and starts the cluster; returns how to reach it.
    /// Does nothing but return the state if it is already running.
    @discardableResult
    public func start() throws -> State {
        if let state = runningState() { return state }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let owner = ServerUser.current()
        if !isInitialized {
            try owner.prepare(directory)
            var args = ["-D", dataDirectory.path, "-U", options.user, "--auth=trust", "-E", "UTF8", "--locale=C"]
            if !options.durable { args.append("--no-sync") }
            try run(binaries.initdb, args, as: owner)
        }
        let socket = socketDirectory
        try FileManager.default.createDirectory(at: socket, withIntermediateDirectories: true)
        try owner.prepare(socket)
        try owner.prepare(directory, recursive: false)
        let port = try FreePort.find()
        var settings = [
            "listen_addresses": "''",
            "port": String(port),
            "unix_socket_directories": "'\(socket.path)'",
            "max_connections": "100",
            "shared_buffers": "128MB",
            "max_wal_size": "2GB",
        ]
        if !options.durable {
            settings["fsync"] = "off"
            settings["synchronous_commit"] = "off"
            settings["full_page_writes"] = "off"
        }
        for (k, v) in options.settings { settings[k] = v }
        let serverOptions = settings.sorted { $0.key < $1.key }.map { "-c \($0.key)=\($0.value)" }.joined(separator: " ")
        do {
            try run(binaries.pgCtl, ["start", "-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "60", "-s", "-o", serverOptions], as: owner)
        } catch {
            let tail = (try? String(contentsOf: logFile, encoding: .utf8))?.split(separator: "\n").suffix(8).joined(separator: "\n") ?? ""
            throw EmbeddedPostgresError(message: "could not start PostgreSQL in \(directory.path): \(error)\nserver log:\n\(tail)")
        }
        let state = State(port: port, socketDirectory: socket.path, user: options.user, database: options.database)
        // Temp file and rename by hand: Foundation's `.atomic` leaves a directory in /tmp per write.
        let temp = stateFile.appendingPathExtension("tmp")
        try JSONEncoder().encode(state).write(to: temp)
        guard rename(temp.path, stateFile.path) == 0 else {
            throw EmbeddedPostgresError(message: "cannot rename \(temp.path) to \(stateFile.path): \(String(cString: strerror(errno)))")
        }
        try createDatabaseIfMissing(state)
        return state
    }

    /// Stops the server (fast shutdown: open transactions are rolled back).
    public func stop() throws {
        guard isRunning() else { return }
        try run(binaries.pgCtl, ["stop", "-D", dataDirectory.path, "-m", "fast", "-w", "-s"], as: ServerUser.current())
        try? FileManager.default.removeItem(at: stateFile)
    }

    private func createDatabaseIfMissing(_ state: State) throws {
        let conn = try PostgresConnection(state.url(database: "postgres"))
        let exists = try conn.query("SELECT 1 FROM pg_database WHERE datname = \(state.database)")
        if exists.count == 0 {
            try conn.execute("CREATE DATABASE \(PostgresQuery.quoteIdentifier(state.database))")
        }
    }

    @discardableResult
    private func run(_ tool: URL, _ args: [String], as owner: ServerUser = .current(), allowFailure: Bool = false) throws -> (status: Int32, output: String) {
        let (exe, fullArgs) = owner.command(tool, args)
        var env = ProcessInfo.processInfo.environment
        env["LC_ALL"] = "C"
        // The server user must be able to enter the working directory.
        let outcome = try Subprocess.run(exe.path, fullArgs, workingDirectory: directory.path, environment: env)
        let output = outcome.output
        if outcome.status != 0 && !allowFailure {
            throw EmbeddedPostgresError(message: "\(tool.lastPathComponent) \(args.first ?? "") failed (exit \(outcome.status)): \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return (outcome.status, output)
    }
}

/// A failure to find, initialize, start or stop the embedded cluster.
public struct EmbeddedPostgresError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// The user the server processes run as: ourselves, or `postgres` when we are root.
struct ServerUser {
    let name: String?
    let uid: uid_t
    let gid: gid_t

    static func current() -> ServerUser {
        guard geteuid() == 0 else { return ServerUser(name: nil, uid: geteuid(), gid: getegid()) }
        guard let pw = getpwnam("postgres") else { return ServerUser(name: "postgres", uid: 0, gid: 0) }
        return ServerUser(name: "postgres", uid: pw.pointee.pw_uid, gid: pw.pointee.pw_gid)
    }

    /// The command line that runs `tool` as this user.
    func command(_ tool: URL, _ args: [String]) -> (URL, [String]) {
        guard let name else { return (tool, args) }
        return (URL(fileURLWithPath: "/usr/sbin/runuser"), ["-u", name, "--", tool.path] + args)
    }

    /// Gives the server user the directory (and, once, everything in it).
    func prepare(_ dir: URL, recursive: Bool = true) throws {
        guard name != nil else { return }
        guard uid != 0 else {
            throw EmbeddedPostgresError(message: "running as root, but there is no 'postgres' user to run the server as; create it with: useradd --system --home /var/lib/postgresql postgres")
        }
        let paths = recursive ? [dir.path] + ((FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String]) ?? []).map { dir.path + "/" + $0 } : [dir.path]
        for p in paths where chown(p, uid, gid) != 0 {
            throw EmbeddedPostgresError(message: "cannot give \(p) to the postgres user: \(String(cString: strerror(errno)))")
        }
        // initdb insists on 0700 for the data directory; the parent only needs to be enterable.
        chmod(dir.path, 0o755)
    }
}

/// Finds a TCP port nobody listens on (the socket file is named after it).
enum FreePort {
    static func find() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw EmbeddedPostgresError(message: "socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        guard ok else { throw EmbeddedPostgresError(message: "could not find a free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
