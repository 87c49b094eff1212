import Foundation

/// Runs a program to completion with posix_spawn and waitpid, output into a file.
///
/// Foundation's `Process` waits for descriptors the started server inherits, so
/// `pg_ctl start` (whose postmaster lives on) would never seem to finish through it, even with
/// its output in a file (tried again: the `runuser` child stayed a zombie). swift-subprocess
/// would do, but its API is async only and every caller here is a synchronous thread (the
/// CLI's commands, the test support's once-per-process start).
enum Subprocess {
    struct Outcome {
        var status: Int32
        var output: String
    }

    static func run(_ executable: String, _ arguments: [String], workingDirectory: String?, environment: [String: String]) throws -> Outcome {
        let outputPath = NSTemporaryDirectory() + "/orderflow-sub-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // coreutils' `env -C` changes directory for the child (posix_spawn's chdir action is
        // not exposed to Swift on every libc).
        let command = workingDirectory.map { ["/usr/bin/env", "-C", $0, executable] } ?? [executable]
        let argv = (command + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, command[0], &actions, nil, argv, envp)
        guard rc == 0 else {
            throw EmbeddedPostgresError(message: "cannot run \(executable): \(String(cString: strerror(rc)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS are macros; decode the wait status by hand.
        let exitCode = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return Outcome(status: exitCode, output: output)
    }
}
