import CPacketCaptureShims
import Foundation
import Glibc

public struct ProcessResult: Sendable {
    public var status: Int32
    /// Set when the process died of a signal.
    public var signal: Int32?
    public var stdout: String
    public var stderr: String
    public var stdoutData: Data
}

/// A running child process with captured stdout/stderr.
///
/// Spawned with posix_spawn (swiftcap_spawn: only fds 0-2 reach the child, so
/// no test pipe leaks into unrelated children), stdin from /dev/null, and read
/// by one thread per pipe; a third thread reaps it with waitpid.
public final class ChildProcess: @unchecked Sendable {
    public let pid: Int32
    private let lock = NSLock()
    private var outData: [UInt8] = []
    private var errData: [UInt8] = []
    private var result: (status: Int32, signal: Int32?)?
    private let exited = DispatchSemaphore(value: 0)
    private let outputDone = DispatchGroup()

    /// The read end of a stderr pipe nobody reads (`readStderr: false`), closed by `wait`.
    private var unreadStderr: Int32 = -1

    /// Starts `argv` (optionally as `user`, via `runuser -u USER --`), with extra
    /// environment. `stdinPath` is a file to read stdin from (default /dev/null).
    /// With `readStderr: false` the child's stderr is a pipe that no one reads,
    /// as a client that ignores stderr would leave it. `replaceEnvironment`
    /// starts from an empty environment instead of this process's.
    public init(_ argv: [String], as user: String? = nil, environment: [String: String] = [:],
                replaceEnvironment: Bool = false, stdinPath: String = "/dev/null", readStderr: Bool = true) throws {
        var argv = argv
        if let user { argv = ["/usr/sbin/runuser", "-u", user, "--"] + argv }
        var env = replaceEnvironment ? [:] : ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let envp = env.map { "\($0.key)=\($0.value)" }

        var outFDs: [Int32] = [-1, -1], errFDs: [Int32] = [-1, -1]
        guard swiftcap_pipe_cloexec(&outFDs) == 0, swiftcap_pipe_cloexec(&errFDs) == 0 else {
            throw TestSupportError("pipe2: \(String(cString: strerror(errno)))")
        }
        let devNull = open(stdinPath, O_RDONLY | O_CLOEXEC)
        guard devNull >= 0 else { throw TestSupportError("cannot open \(stdinPath): \(String(cString: strerror(errno)))") }
        var child: pid_t = 0
        let rc = Self.withCStrings(argv) { cArgv in
            Self.withCStrings(envp) { cEnv in
                swiftcap_spawn(&child, argv[0], cArgv, cEnv, devNull, outFDs[1], errFDs[1])
            }
        }
        close(devNull); close(outFDs[1]); close(errFDs[1])
        guard rc == 0 else {
            close(outFDs[0]); close(errFDs[0])
            throw TestSupportError("cannot start \(argv[0]): \(String(cString: strerror(rc)))")
        }
        pid = child
        let childPID = child
        var readers = [(outFDs[0], true)]
        if readStderr { readers.append((errFDs[0], false)) } else { unreadStderr = errFDs[0] }
        for (fd, isOut) in readers {
            outputDone.enter()
            Thread { [self] in
                var chunk = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = read(fd, &chunk, chunk.count)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    lock.lock()
                    if isOut { outData += chunk[0 ..< n] } else { errData += chunk[0 ..< n] }
                    lock.unlock()
                }
                close(fd)
                outputDone.leave()
            }.start()
        }
        Thread { [self] in
            var status: Int32 = 0
            _ = swiftcap_waitpid(childPID, &status, 0)
            // A grandchild may keep the pipes open: wait for EOF, but bounded.
            _ = outputDone.wait(timeout: .now() + 2)
            lock.lock()
            result = swiftcap_wifsignaled(status) != 0 ? (-1, swiftcap_wtermsig(status)) : (swiftcap_wexitstatus(status), nil)
            lock.unlock()
            exited.signal()
        }.start()
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for p in pointers { free(p) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Output so far.
    public var stdout: String { lock.lock(); defer { lock.unlock() }; return String(decoding: outData, as: UTF8.self) }
    public var stderr: String { lock.lock(); defer { lock.unlock() }; return String(decoding: errData, as: UTF8.self) }

    /// Bytes of standard output so far.
    public var stdoutByteCount: Int { lock.lock(); defer { lock.unlock() }; return outData.count }

    /// Waits until standard output has not grown for `quiet` seconds (the process has
    /// caught up with its input), up to `timeout` seconds; false if it never settled.
    /// For tests whose process works through a backlog at a speed that depends on load.
    public func waitForStdoutToSettle(quiet: Double = 1, timeout: Double = 60) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        var last = stdoutByteCount, lastChange = Date()
        while Date() < end && isRunning {
            usleep(50_000)
            let now = stdoutByteCount
            if now != last { last = now; lastChange = Date() } else if Date().timeIntervalSince(lastChange) >= quiet { return true }
        }
        return !isRunning
    }

    /// Whether the process has been reaped.
    public var isRunning: Bool { lock.lock(); defer { lock.unlock() }; return result == nil }

    /// Waits until `predicate(stderr)` holds, up to `timeout` seconds.
    public func waitForStderr(timeout: Double, _ predicate: (String) -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if predicate(stderr) { return true }
            if !isRunning { return predicate(stderr) }
            usleep(5_000)
        }
        return predicate(stderr)
    }

    /// Sends `signal` to the process.
    public func send(_ signal: Int32) { kill(pid, signal) }

    /// Waits for exit (SIGKILL after `timeout` seconds).
    @discardableResult
    public func wait(timeout: Double = 30) -> ProcessResult {
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            FileHandle.standardError.write(Data("ChildProcess: pid \(pid) still running after \(timeout) s, killing it; stderr so far: \(stderr)\n".utf8))
            kill(pid, SIGKILL)
            exited.wait()
        }
        exited.signal() // later waits return at once
        lock.lock(); defer { lock.unlock() }
        if unreadStderr >= 0 { close(unreadStderr); unreadStderr = -1 }
        return ProcessResult(status: result!.status, signal: result!.signal,
                             stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData, as: UTF8.self), stdoutData: Data(outData))
    }
}

/// Runs `argv` to completion (optionally as `user` via runuser), bounded by `timeout` seconds.
@discardableResult
public func runProcess(_ argv: [String], as user: String? = nil, environment: [String: String] = [:], timeout: Double = 30) throws -> ProcessResult {
    try ChildProcess(argv, as: user, environment: environment).wait(timeout: timeout)
}

/// Runs `argv` and throws unless it exits 0.
@discardableResult
public func runChecked(_ argv: [String], timeout: Double = 30) throws -> ProcessResult {
    let r = try runProcess(argv, timeout: timeout)
    guard r.status == 0 else {
        throw TestSupportError("\(argv.joined(separator: " ")) failed with status \(r.status): \(r.stderr)")
    }
    return r
}
