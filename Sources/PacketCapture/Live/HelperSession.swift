import CPacketCaptureShims
import Glibc
import SwiftcapWire
import Synchronization

/// One helper process and the thread that talks to it.
///
/// Consumers (any task, any thread) take packets and queue requests under the
/// lock; the dedicated I/O thread (`SessionIO`) does every system call and
/// resumes the continuations. The only system call a consumer makes is the
/// eventfd write that wakes the I/O thread.
final class HelperSession: Sendable {
    /// The `helperPath` option; nil: look it up (HelperLocator, on the I/O thread).
    let requestedHelperPath: String?
    let mode: SessionMode
    let interface: String?
    /// Bound on the bytes of queued packets (see `PacketQueue.bytes`).
    let queueLimit: Int
    let state: Mutex<SessionState>
    let wakeup: EventFD
    /// Runs tasks that prefer it on the I/O thread.
    let executor: CaptureExecutor
    /// Packets handed to the application: by `next(timeout:)` one at a time, and
    /// by `packets` / `batches` iterators a whole batch at a time, counted when
    /// the iterator takes the batch (so a batch an iterator abandons counts whole).
    let delivered = Atomic<UInt64>(0)
    /// Packets discarded because the queue was full while reading had to go
    /// on (a reply awaited, the helper gone): `CaptureStatistics.droppedByClient`.
    let droppedByClient = Atomic<UInt64>(0)
    let deadlines: SessionDeadlines
    /// Where the helper runs: here, or through ssh.
    let transport: HelperTransport
    private let waiterIDs = Atomic<UInt64>(1)

    static let closeGracePeriod: Int64 = 2_000_000_000
    static let ioThreadStackSize = 512 * 1024

    private init(helperPath: String?, mode: SessionMode, interface: String?, queueLimit: Int, wakeup: EventFD,
                 deadlines: SessionDeadlines, transport: HelperTransport) {
        self.requestedHelperPath = helperPath
        self.deadlines = deadlines
        self.transport = transport
        self.state = Mutex(SessionState(helperPath: helperPath ?? HelperLocator.executableName))
        self.mode = mode
        self.interface = interface
        self.queueLimit = queueLimit
        self.wakeup = wakeup
        self.executor = CaptureExecutor(wakeup: wakeup)
    }

    deinit {
        // Only now can no one write to the eventfd any more.
        wakeup.fd.close()
    }

    /// Creates the session and its I/O thread, which locates and spawns the helper.
    static func start(helperPath: String?, arguments: [String], mode: SessionMode, interface: String?,
                      queueLimit: Int = 4 << 20, deadlines: SessionDeadlines = .default,
                      transport: HelperTransport = .local) throws(CaptureError) -> HelperSession {
        let wakeup: EventFD
        switch EventFD.make() {
        case .success(let e): wakeup = e
        case .failure(let e): throw systemCallError("eventfd", e, "the process may be out of file descriptors")
        }
        let session = HelperSession(helperPath: helperPath, mode: mode, interface: interface,
                                    queueLimit: max(queueLimit, 64 * 1024), wakeup: wakeup, deadlines: deadlines,
                                    transport: transport)
        let io = SessionIO(session: session, arguments: arguments)
        let opaque = Unmanaged.passRetained(io).toOpaque()
        let rc = swiftcap_thread_start({ arg in
            let io = Unmanaged<SessionIO>.fromOpaque(arg!).takeRetainedValue()
            io.session.executor.attach()
            io.run()
            // Before the session (and its eventfd) can go away.
            io.session.executor.shutdown()
            return nil
        }, opaque, ioThreadStackSize)
        if rc != 0 {
            Unmanaged<SessionIO>.fromOpaque(opaque).release()
            throw systemCallError("pthread_create", Errno(rawValue: rc), "the process may have reached its thread limit")
        }
        return session
    }

    var processID: Int32 { state.withLock { $0.pid } }
    var helperPath: String { state.withLock { $0.helperPath } }
    var context: ErrorContext {
        var context = ErrorContext(helperPath: helperPath, interface: interface)
        if case .ssh(let destination) = transport { context.remoteHost = destination.displayName }
        return context
    }
    var libpcapVersion: String { state.withLock { $0.libpcapVersion } }

    private func newWaiterID() -> UInt64 { waiterIDs.wrappingAdd(1, ordering: .relaxed).oldValue }

    // MARK: Requests

    /// Queues `message` and waits for its reply (an `error` frame is a reply too).
    nonisolated(nonsending)
    func request(_ message: WireMessage, _ kind: RequestKind, filter: String? = nil) async -> Result<WireMessage, CaptureError> {
        var encoded: [UInt8] = []
        message.encode(into: &encoded)
        let bytes = encoded
        return await withUnsafeContinuation { c in
            let rejection: CaptureError? = state.withLock { s in
                if s.closeRequested { return .closed() }
                if s.finished { return s.failure ?? .closed() }
                s.pending.append(PendingRequest(kind: kind, bytes: bytes, filter: filter, continuation: c))
                return nil
            }
            if let rejection { c.resume(returning: .failure(rejection)) } else { wakeup.signal() }
        }
    }

    // MARK: Packets

    /// After taking packets: whether the paused reader must be woken.
    private func shouldWakeReader(_ s: inout SessionState) -> Bool {
        guard s.readerPaused, s.queue.bytes <= queueLimit - queueLimit / 4 else { return false }
        s.readerPaused = false
        return true
    }

    /// Takes every queued packet of the oldest batch, waiting for one if none is queued.
    nonisolated(nonsending)
    func nextBatch() async -> BatchResult {
        var wake = false
        // A cancelled consumer stops at the next batch even while packets are queued
        // (as AsyncStream does, and as tcpdump stops at ^C); they stay for other iterators.
        let cancelled = Task.isCancelled
        let fast: BatchResult? = state.withLock { s in
            if s.closeRequested || cancelled { return .end }
            if let (packets, start) = s.queue.popBatch() {
                wake = shouldWakeReader(&s)
                delivered.add(UInt64(packets.storage.count - start), ordering: .relaxed)
                return .batch(packets, start: start)
            }
            if s.finished { return s.failure.map { .failed($0) } ?? .end }
            return nil
        }
        if wake { wakeup.signal() }
        if let fast { return fast }

        let id = newWaiterID()
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (c: UnsafeContinuation<BatchResult, Never>) in
                var wake = false
                let immediate: BatchResult? = state.withLock { s in
                    if s.closeRequested || Task.isCancelled { return .end }
                    if let (packets, start) = s.queue.popBatch() {
                        wake = shouldWakeReader(&s)
                        delivered.add(UInt64(packets.storage.count - start), ordering: .relaxed)
                        return .batch(packets, start: start)
                    }
                    if s.finished { return s.failure.map { .failed($0) } ?? .end }
                    s.waiters.append(.batch(id: id, c))
                    return nil
                }
                if wake { wakeup.signal() }
                if let immediate { c.resume(returning: immediate) }
            }
        } onCancel: {
            cancelWaiter(id)
        }
    }

    /// Takes one packet, waiting until `deadline` (monotonic ns) at the latest.
    nonisolated(nonsending)
    func nextPacket(deadline: Int64) async -> SingleResult {
        var wake = false
        let fast: SingleResult? = state.withLock { s in
            if s.closeRequested { return .failed(.closed()) }
            if let p = s.queue.popPacket() {
                wake = shouldWakeReader(&s)
                return .packet(p)
            }
            if s.finished { return .failed(s.failure ?? .closed()) }
            if deadline <= monotonicNanoseconds() { return SingleResult.none }
            return nil
        }
        if wake { wakeup.signal() }
        if let fast {
            if case .packet = fast { delivered.add(1, ordering: .relaxed) }
            return fast
        }

        let id = newWaiterID()
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (c: UnsafeContinuation<SingleResult, Never>) in
                var wake = false
                let immediate: SingleResult? = state.withLock { s in
                    if s.closeRequested { return .failed(.closed()) }
                    if Task.isCancelled { return SingleResult.none }
                    if let p = s.queue.popPacket() {
                        wake = shouldWakeReader(&s)
                        delivered.add(1, ordering: .relaxed)
                        return .packet(p)
                    }
                    if s.finished { return .failed(s.failure ?? .closed()) }
                    s.waiters.append(.single(id: id, deadline: deadline, c))
                    wake = true // the I/O thread must learn the new deadline
                    return nil
                }
                if wake { wakeup.signal() }
                if let immediate { c.resume(returning: immediate) }
            }
        } onCancel: {
            cancelWaiter(id)
        }
    }

    private func cancelWaiter(_ id: UInt64) {
        let waiter: Waiter? = state.withLock { s in
            guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: i)
        }
        waiter?.resumeEmpty()
    }

    // MARK: Ending

    /// Starts a graceful close: drops queued packets, ends waiting consumers,
    /// fails requests not yet sent, and (for a capture) sends `close`. The I/O
    /// thread SIGKILLs the helper if it has not exited 2 s later.
    /// - Returns: false if the session had already finished.
    private func beginClose(abandon: Bool) -> Bool {
        var resumptions: [Resumption] = []
        let wake: Bool = state.withLock { s in
            if s.finished { return false }
            if abandon { s.abandoned = true }
            if s.closeRequested { return abandon }
            s.closeRequested = true
            s.closeDeadline = saturatingAdd(monotonicNanoseconds(), Self.closeGracePeriod)
            s.queue.removeAll()
            for w in s.waiters {
                switch w {
                case .batch(_, let c): resumptions.append(.batch(c, .end))
                case .single(_, _, let c): resumptions.append(.single(c, .failed(.closed())))
                }
            }
            s.waiters.removeAll()
            for r in s.pending {
                if let c = r.continuation { resumptions.append(.reply(c, .failure(.closed()))) }
            }
            s.pending.removeAll()
            if mode == .capture && !abandon {
                s.pending.append(PendingRequest(kind: .close, bytes: WireMessage.close.encoded(), continuation: nil))
            }
            return true
        }
        for r in resumptions { r.resume() }
        if wake { wakeup.signal() }
        return wake
    }

    /// Graceful close; returns once the helper has exited and been reaped.
    nonisolated(nonsending)
    func close() async {
        _ = beginClose(abandon: false)
        await waitFinished()
    }

    /// The owner went away without `close()`: the I/O thread closes the helper's
    /// stdin (the helper exits at once), reaps it and leaves. Does not wait.
    func abandon() {
        _ = beginClose(abandon: true)
    }

    /// Waits until the helper is reaped and the I/O thread is done with the session.
    nonisolated(nonsending)
    func waitFinished() async {
        await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
            let done: Bool = state.withLock { s in
                if s.finished { return true }
                s.finishWaiters.append(c)
                return false
            }
            if done { c.resume() }
        }
    }

    /// Whether the helper is reaped (for tests and diagnostics).
    var isFinished: Bool { state.withLock { $0.finished } }
}
