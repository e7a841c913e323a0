import CPacketCaptureShims
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A `TaskExecutor` with a thread of its own, on which the async APIs of a
/// stream `CaptureFile` (standard input, a pipe) make their blocking `read(2)`
/// calls, so that a stalled writer stalls only this thread, never a thread of
/// the cooperative pool. One per stream file, started on first async use; its
/// thread ends when the file is released.
final class StreamReadExecutor: TaskExecutor, Sendable {
    private struct State {
        var jobs: [UnownedJob] = []
        var closed = false
    }

    private let state = Mutex(State())
    /// Counts queued jobs (and the close); the thread sleeps on it. The thread
    /// holds the executor until it leaves, so `deinit` frees it safely.
    private nonisolated(unsafe) let wakeup: UnsafeMutablePointer<sem_t>

    static let stackSize = 512 * 1024

    private init() {
        wakeup = .allocate(capacity: 1)
        sem_init(wakeup, 0, 0)
    }

    deinit {
        sem_destroy(wakeup)
        wakeup.deallocate()
    }

    /// Starts the thread (`pthread_create`, detached).
    static func start(for path: String) throws(CaptureFileError) -> StreamReadExecutor {
        let executor = StreamReadExecutor()
        let opaque = Unmanaged.passRetained(executor).toOpaque()
        let rc = swiftcap_thread_start({ arg in
            let executor = Unmanaged<StreamReadExecutor>.fromOpaque(arg!).takeRetainedValue()
            swiftcap_set_thread_name("swiftcap-read")
            executor.runJobs()
            return nil
        }, opaque, stackSize)
        guard rc == 0 else {
            Unmanaged<StreamReadExecutor>.fromOpaque(opaque).release()
            throw .systemCall("pthread_create", errno: rc, path: path,
                              hint: "the process may have reached its thread limit")
        }
        return executor
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let queued = state.withLock { s in
            if s.closed { return false }
            s.jobs.append(job)
            return true
        }
        if queued {
            sem_post(wakeup)
        } else {
            globalConcurrentExecutor.enqueue(ExecutorJob(job))
        }
    }

    /// Lets the thread end once the jobs queued now have run; later jobs go to
    /// the global concurrent executor.
    func shutdown() {
        state.withLock { $0.closed = true }
        sem_post(wakeup)
    }

    private func runJobs() {
        let me = asUnownedTaskExecutor()
        while true {
            while sem_wait(wakeup) != 0 {}   // EINTR
            let (jobs, closed) = state.withLock { s in
                defer { s.jobs.removeAll(keepingCapacity: true) }
                return (s.jobs, s.closed)
            }
            for job in jobs { job.runSynchronously(on: me) }
            if closed && state.withLock({ $0.jobs.isEmpty }) { return }
        }
    }
}
