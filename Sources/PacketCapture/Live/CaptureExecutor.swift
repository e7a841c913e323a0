import CPacketCaptureShims
import Glibc
import Synchronization

/// A `TaskExecutor` that runs tasks on a capture's own I/O thread.
///
/// A consumer that prefers it resumes right where a batch of packets is read,
/// without waking a thread of the cooperative pool: one thread wake-up less per
/// batch (lower latency, less CPU):
///
///     try await withTaskExecutorPreference(capture.executor) {
///         for try await packet in capture.packets { ... }
///     }
///
/// While such a consumer runs, the I/O thread reads nothing: it must not block
/// (no blocking system calls, no long computations per batch), or packets wait
/// in the pipe and, once it is full, the kernel drops. Work that may block
/// belongs on the cooperative pool or a thread of its own.
///
/// Once the capture's session has ended (after `close()` or the helper's exit),
/// jobs go to the global concurrent executor instead.
public final class CaptureExecutor: TaskExecutor, Sendable {
    private struct State {
        var jobs: [UnownedJob] = []
        /// The I/O thread has left: forward to the global executor.
        var closed = false
        /// The I/O thread, once it runs.
        var thread: pthread_t?
    }

    private let state = Mutex(State())
    /// Wakes the I/O thread when a job arrives from another thread.
    private let wakeup: EventFD

    init(wakeup: EventFD) {
        self.wakeup = wakeup
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let self_ = pthread_self()
        let forward: Bool = state.withLock { s in
            if s.closed { return true }
            s.jobs.append(unowned)
            // On the I/O thread itself it drains before it polls again; from any
            // other thread, wake it (under the lock: once `closed` is set the
            // eventfd may be closed).
            if s.thread == nil || pthread_equal(s.thread!, self_) == 0 { wakeup.signal() }
            return false
        }
        if forward { globalConcurrentExecutor.enqueue(ExecutorJob(unowned)) }
    }

    // MARK: I/O thread side

    /// Called by the I/O thread when it starts.
    func attach() {
        let me = pthread_self()
        state.withLock { $0.thread = me }
    }

    /// Runs the jobs queued now (and those they queue, up to `rounds` rounds).
    /// - Returns: whether jobs are still queued.
    func drain(rounds: Int = 64) -> Bool {
        let me = asUnownedTaskExecutor()
        for _ in 0 ..< rounds {
            let jobs: [UnownedJob] = state.withLock { s in
                if s.jobs.isEmpty { return [] }
                let taken = s.jobs
                s.jobs.removeAll(keepingCapacity: true)
                return taken
            }
            if jobs.isEmpty { return false }
            for job in jobs { job.runSynchronously(on: me) }
        }
        return state.withLock { !$0.jobs.isEmpty }
    }

    /// Called by the I/O thread as it leaves: hands what is queued, and every
    /// later job, to the global concurrent executor.
    func shutdown() {
        let jobs: [UnownedJob] = state.withLock { s in
            s.closed = true
            s.thread = nil
            let taken = s.jobs
            s.jobs = []
            return taken
        }
        for job in jobs { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
    }
}
