import EmbeddedPostgres
import Foundation

/// Stops the test cluster even when the test process dies without running `atexit` (SIGKILL,
/// a crash): a watcher process waits for a pipe that only the test process holds open; when
/// the pipe closes, however the process ended, it shuts the postmaster down and removes the
/// cluster directory.
enum ClusterReaper {
    static func watch(_ cluster: EmbeddedPostgres) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        // The read end must survive exec in the watcher; the write end stays with us only
        // (close-on-exec keeps it from the postmaster and every other child).
        let readEnd = fds[0]
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let script = """
            trap '' INT TERM HUP
            read _
            pid=$(head -n 1 "$2/postmaster.pid" 2>/dev/null) && kill -QUIT "$pid" 2>/dev/null
            for _ in 1 2 3 4 5 6 7 8 9 10; do [ -e "$2/postmaster.pid" ] || break; sleep 0.5; done
            rm -rf "$1"
            """
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        watcher.arguments = ["/bin/sh", "-c", script, "orderflow-test-reaper", cluster.directory.path, cluster.dataDirectory.path]
        watcher.standardInput = FileHandle(fileDescriptor: readEnd, closeOnDealloc: false)
        watcher.standardOutput = FileHandle.nullDevice
        watcher.standardError = FileHandle.nullDevice
        try watcher.run()
        close(readEnd)
        // fds[1] stays open for the life of the process, on purpose.
    }
}
