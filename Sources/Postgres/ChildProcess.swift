import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a tool to completion with `posix_spawn`, its output captured through a temporary file.
///
/// Foundation's `Process` was seen to hang here when `pg_ctl` leaves a server behind (the child is
/// never reaped inside a test process); `waitpid` on our own child has no such failure mode.
enum ChildProcess {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Returns the combined stdout and stderr; throws with them when the exit status is not 0.
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let outputPath =
            FileManager.default.temporaryDirectory.path
            + "/bidengine-child-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var attributes = SpawnAttributes()
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes.value, argv, environ)
        guard spawned == 0 else {
            throw Failure(description: "cannot run \(executable): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw Failure(description: "waiting for \(executable) failed") }
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED && WEXITSTATUS == 0, spelled out because the macros do not import.
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
            let name = (executable as NSString).lastPathComponent
            throw Failure(description: "\(name) \(arguments.joined(separator: " ")) failed: \(output)")
        }
        return output
    }

    /// Starts `/bin/sh -c script` and does not wait for it (it outlives this process by design).
    static func spawnDetached(script: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let words: [String] = ["/bin/sh", "-c", script]
        let argv = words.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var attributes = SpawnAttributes()
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes.value, argv, environ)
        guard spawned == 0 else {
            throw Failure(description: "cannot start a watchdog: \(String(cString: strerror(spawned)))")
        }
    }
}

/// Children start with no blocked signals: `serve` blocks SIGTERM/SIGINT for `sigwait`, and a
/// PostgreSQL server inheriting that mask could not be stopped by `pg_ctl`.
private struct SpawnAttributes {
    var value = posix_spawnattr_t()

    init() {
        posix_spawnattr_init(&value)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&value, &empty)
        posix_spawnattr_setflags(&value, Int16(POSIX_SPAWN_SETSIGMASK))
    }
}
