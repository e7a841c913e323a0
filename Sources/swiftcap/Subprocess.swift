import Dispatch
import Glibc

/// What a tool run by `Subprocess.run` printed and how it ended.
struct SubprocessResult {
    /// The exit status, or 128 + the signal number when it was killed.
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool
}

/// Runs the tools the install commands need (setcap, groupadd, the helper's
/// `--version`): posix_spawn with stdout and stderr on pipes, stdin from
/// /dev/null, output kept up to 64 KiB each, killed after a timeout.
/// Blocking: call it through `offThePool`.
enum Subprocess {
    static let outputLimit = 64 << 10

    /// posix_spawn(3) of `argv[0]` (a path), reading its output with poll(2) until
    /// both pipes close, then waitpid(2).
    static func run(_ argv: [String], timeoutSeconds: Int = 20) -> Result<SubprocessResult, SubprocessFailure> {
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard pipe(&outPipe) == 0 else { return .failure(SubprocessFailure(argv[0], errno)) }
        guard pipe(&errPipe) == 0 else {
            close(outPipe[0]); close(outPipe[1])
            return .failure(SubprocessFailure(argv[0], errno))
        }
        // The child gets them as 1 and 2 only (pipe2 is not visible from Swift).
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)

        var pid: pid_t = 0
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        let rc = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
        close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(outPipe[0]); close(errPipe[0])
            return .failure(SubprocessFailure(argv[0], rc))
        }

        var output: [[UInt8]] = [[], []]
        var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0),
                   pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let end = deadline.tv_sec + timeoutSeconds
        var timedOut = false
        var chunk = [UInt8](repeating: 0, count: 4096)
        while fds.contains(where: { $0.fd >= 0 }) {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            if now.tv_sec >= end {
                timedOut = true
                kill(pid, SIGKILL)
                break
            }
            let ready = poll(&fds, nfds_t(fds.count), 200)
            if ready < 0 && errno != EINTR { break }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &chunk, chunk.count)
                if n > 0 {
                    if output[i].count < outputLimit { output[i] += chunk[0 ..< min(n, outputLimit - output[i].count)] }
                } else if n == 0 || errno != EINTR {
                    close(fds[i].fd)
                    fds[i].fd = -1
                }
            }
        }
        for f in fds where f.fd >= 0 { close(f.fd) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7F
        let exitStatus = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
        return .success(SubprocessResult(status: exitStatus,
                                         stdout: String(decoding: output[0], as: UTF8.self),
                                         stderr: String(decoding: output[1], as: UTF8.self),
                                         timedOut: timedOut))
    }

    /// The first executable `name` in `$PATH`, or nil.
    static func find(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// posix_spawn or pipe2 failed.
struct SubprocessFailure: Error, CustomStringConvertible {
    var tool: String
    var errno: Int32
    init(_ tool: String, _ errno: Int32) {
        self.tool = tool
        self.errno = errno
    }
    var description: String { "cannot run \(tool): \(String(cString: strerror(errno)))" }
}

/// Runs blocking work (file system calls, subprocesses) on a Dispatch worker
/// instead of Swift's cooperative thread pool.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: work()) }
    }
}
