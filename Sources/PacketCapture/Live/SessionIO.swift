import CPacketCaptureShims
import Glibc
import SwiftcapWire

/// The dedicated I/O thread of one helper session: the driver of its
/// `SessionStateMachine`.
///
/// It spawns the helper (so that the helper's PR_SET_PDEATHSIG is tied to a
/// thread that lives exactly as long as the helper), then polls the helper's
/// stdout, stderr, stdin (while requests wait to be written), a pidfd of the
/// helper and the session's eventfd. It decodes frames (SessionIO+Frames),
/// queues packets (bounded: a full queue stops the reads, so the pipe fills,
/// the helper stops reading packets and the kernel drops them), writes
/// requests, and does what the state machine's transitions say: resume a
/// request, kill the helper. At stdout EOF, or once the helper has exited, it
/// reaps it and ends the session (SessionIO+Ending). Every blocking call of a
/// session happens here, never on Swift's cooperative pool.
final class SessionIO {
    let session: HelperSession
    let arguments: [String]
    /// The protocol state: what may arrive, which deadlines run, why it ended.
    var machine: SessionStateMachine

    var process: HelperProcess?
    /// pidfd_open of the helper: readable once it exited, whoever holds its
    /// stdout (a grandchild may). -1 on kernels without pidfd (then polled).
    var pidfd: CInt = -1
    /// The helper has exited (seen through the pidfd or waitid), not yet reaped.
    var helperExited = false
    /// SIGKILL was sent.
    var killSent = false
    var stdinOpen = false
    var stdoutOpen = false
    var stderrOpen = false
    /// The capture's stdout saw POLLHUP while reads were paused: the helper is
    /// gone; what it left in the pipe is read regardless of the queue bound.
    var draining = false
    var linkType = LinkType(rawValue: 0)

    /// Request bytes not yet written to the helper's stdin.
    var output: [UInt8] = []
    var outputOffset = 0

    /// Read buffer: `filled` bytes, of which the first form no complete frame
    /// after `processFrames` (a partial frame is carried to the next read).
    /// Each read gets an array sized to what the pipe holds (FIONREAD), which
    /// then becomes the storage of the batch it carries, without a copy.
    var buffer: [UInt8] = []
    var filled = 0
    /// Packet frames of the chunk being processed (reused; grown to the
    /// worst case of a chunk of minimal frames before each scan).
    var records: UnsafeMutablePointer<FrameRecord>
    var recordCapacity: Int

    /// The last bytes the helper wrote to stderr, for error messages.
    var stderrTail: [UInt8] = []

    /// Most bytes taken by one read.
    static let chunkSize = 256 * 1024
    /// Read size when FIONREAD does not tell (EOF, or it failed).
    static let probeSize = 4096
    static let stderrTailLimit = 4096
    /// How far past `queueLimit` the queue may grow while a reply is awaited:
    /// the helper's output buffer (256 KiB), the pipe (1 MiB) and the queue's
    /// per-packet overhead for small packets.
    static let replyAllowance = 3 << 20
    /// How often to ask waitid whether the helper exited, without a pidfd.
    static let exitPollInterval: Int64 = 250_000_000
    /// Most bytes read from the helper's stdout after it exited: what it left in
    /// the pipe (1 MiB at most) is read; a grandchild that goes on writing is not.
    static let drainAfterExitLimit = 4 << 20

    init(session: HelperSession, arguments: [String]) {
        self.session = session
        self.arguments = arguments
        self.machine = SessionStateMachine(context: ErrorContext(helperPath: HelperLocator.executableName, interface: session.interface),
                                           deadlines: session.deadlines, now: monotonicNanoseconds())
        self.recordCapacity = 1024
        self.records = .allocate(capacity: 1024)
    }

    deinit {
        records.deallocate()
        if pidfd >= 0 { Glibc.close(pidfd) }
    }

    var helperPath: String { machine.context.helperPath }

    // MARK: Thread body

    func run() {
        swiftcap_set_thread_name("swiftcap-io")
        do {
            // stat/access/readlink and posix_spawn happen here, off the cooperative pool.
            let p = try spawnHelper()
            process = p
            // The hello deadline runs from the spawn, not from the locate.
            machine = SessionStateMachine(context: machine.context, deadlines: session.deadlines, now: monotonicNanoseconds())
            pidfd = swiftcap_pidfd_open(p.pid)
            stdinOpen = true; stdoutOpen = true; stderrOpen = true
            session.state.withLock { $0.pid = p.pid }
        } catch {
            finish(with: error, termination: nil)
            return
        }
        loop()
        _ = session.executor.drain()
        reapAndFinish()
    }

    /// Locates and spawns the local helper, or ssh with the remote helper as its command.
    private func spawnHelper() throws(CaptureError) -> HelperProcess {
        switch session.transport {
        case .local:
            let path = try HelperLocator.locate(explicit: session.requestedHelperPath)
            machine.context.helperPath = path
            session.state.withLock { $0.helperPath = path }
            return try HelperProcess.spawn(path: path, arguments: arguments)
        case .ssh(let destination):
            try destination.validate()
            machine.context.helperPath = destination.helperPath
            machine.context.remoteHost = destination.displayName
            session.state.withLock { $0.helperPath = destination.helperPath }
            let argv = destination.commandLine(helperArguments: arguments)
            do {
                // ssh does not arm a parent-death signal: the fork does, so a
                // client that dies takes ssh (and so the remote helper) with it.
                return try HelperProcess.spawn(path: argv[0], arguments: Array(argv.dropFirst()), diesWithThread: true)
            } catch {
                throw CaptureError(.helperSpawnFailed,
                                   "cannot start ssh at \(destination.sshPath) (\(error.message)); install OpenSSH's client (Debian: apt-get install openssh-client) or set SSHDestination.sshPath",
                                   helperPath: destination.helperPath)
            }
        }
    }

    private func loop() {
        guard let process else { return }
        var fds = [pollfd](repeating: pollfd(fd: -1, events: 0, revents: 0), count: 5)
        var nextExitCheck: Int64 = 0
        while true {
            // Consumers that prefer the capture's executor run here, between polls.
            let jobsLeft = session.executor.drain()
            let now = monotonicNanoseconds()
            var expired: [Waiter] = []
            var newRequest: [UInt8]? = nil
            var readStdout = false
            var deadline: Int64 = .max
            var abandon = false
            var closeExpired = false
            let mayWrite = machine.mayWriteRequests

            session.state.withLock { s in
                if !s.waiters.isEmpty {
                    var i = 0
                    while i < s.waiters.count {
                        let d = s.waiters[i].deadline
                        if d <= now { expired.append(s.waiters.remove(at: i)) } else { deadline = min(deadline, d); i += 1 }
                    }
                }
                if let cd = s.closeDeadline {
                    if cd <= now { closeExpired = true } else { deadline = min(deadline, cd) }
                }
                abandon = s.abandoned
                if s.outstanding == nil, mayWrite, !s.pending.isEmpty {
                    let r = s.pending.removeFirst()
                    newRequest = r.bytes
                    s.outstanding = r
                    machine.requestSent(r.kind, now: now)
                }
                let full = s.queue.bytes >= session.queueLimit
                readStdout = !full || s.outstanding != nil || s.closeRequested || !machine.acceptsPackets || draining
                s.readerPaused = !readStdout
            }
            for w in expired { w.resumeEmpty() }

            if machine.deadlinesPassed(now: now) == .kill { failOutstandingAndKill() }
            deadline = min(deadline, machine.nextDeadline)
            if pidfd < 0, !helperExited {
                // No pidfd: ask waitid now and then whether the helper exited.
                if now >= nextExitCheck {
                    helperExited = swiftcap_has_exited(process.pid) == 1
                    nextExitCheck = saturatingAdd(now, Self.exitPollInterval)
                }
                deadline = min(deadline, nextExitCheck)
            }
            if helperExited {
                drainAfterExit()
                return
            }
            if closeExpired {
                machine.killedByDriver(.closeGracePeriodOver)
                killHelper()
            }
            if abandon, stdinOpen {
                closeStdin()
            }
            if let newRequest {
                if stdinOpen { output += newRequest }
                // else: the helper is gone; the request fails when the session finishes.
            }

            fds[0] = pollfd(fd: stdoutOpen ? process.stdout.rawValue : -1, events: readStdout ? Int16(POLLIN) : 0, revents: 0)
            fds[1] = pollfd(fd: stderrOpen ? process.stderr.rawValue : -1, events: Int16(POLLIN), revents: 0)
            fds[2] = pollfd(fd: stdinOpen && outputOffset < output.count ? process.stdin.rawValue : -1, events: Int16(POLLOUT), revents: 0)
            fds[3] = pollfd(fd: session.wakeup.fd.rawValue, events: Int16(POLLIN), revents: 0)
            fds[4] = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            let timeout: Int64 = jobsLeft ? 0 : deadline == .max ? -1 : max(0, deadline - now)
            let rc = fds.withUnsafeMutableBytes { swiftcap_poll($0.baseAddress, 5, timeout) }
            if rc < 0 {
                let e = Errno.current
                if e == .interrupted { continue }
                machine.record(systemCallError("ppoll", e))
                machine.killedByDriver(.driverFailure)
                killHelper()
                return
            }
            if rc == 0 { continue }

            if fds[3].revents != 0 { session.wakeup.drain() }
            if fds[4].revents != 0 { helperExited = true }
            if fds[1].revents != 0 { readStderr() }
            if fds[2].revents != 0 { writeStdin() }
            if fds[0].revents != 0 {
                if !readStdout {
                    // POLLHUP while paused: the helper is gone. What it left in
                    // the pipe is bounded by the pipe size: read it all.
                    draining = true
                } else if !readStdoutOnce() {
                    return
                }
            }
        }
    }

    // MARK: Actions

    /// SIGKILL, once.
    func killHelper() {
        guard let process, !killSent else { return }
        kill(process.pid, SIGKILL)
        killSent = true
    }

    /// The machine ended the session (a violation, a missed deadline): the
    /// awaited request fails with its error, the failure is published, and the
    /// helper is killed.
    func failOutstandingAndKill() {
        let error = machine.failure
        let resumption: Resumption? = session.state.withLock { s in
            if s.failure == nil { s.failure = error }
            let out = s.outstanding
            s.outstanding = nil
            return out?.continuation.map { .reply($0, .failure(error ?? .closed())) }
        }
        resumption?.resume()
        killHelper()
    }
}
