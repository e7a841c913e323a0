import Dispatch
import PacketCapture
import Synchronization

/// Where `-w` sends packets: one capture file, or a ring of them.
protocol PacketSink: AnyObject {
    /// Set when the sink wants the capture to stop (an autostop condition):
    /// it then takes nothing more.
    var stopRequested: Bool { get }
    /// Writes `packet`; false when it was not written because the sink stopped.
    func take(_ packet: Packet) throws(CaptureFileError) -> Bool
    /// Hands every complete record to the kernel (the file then ends at a record boundary).
    func flush() throws(CaptureFileError)
    /// Time passed, packets or not: a time-based rotation that is due happens now
    /// (a new file starts on time on an idle link).
    func tick() throws(CaptureFileError)
    func close() throws(CaptureFileError)
}

extension CaptureFileWriter: PacketSink {
    var stopRequested: Bool { false }
    func tick() {}

    func take(_ packet: Packet) throws(CaptureFileError) -> Bool {
        try write(packet)
        return true
    }
}

/// How promptly output reaches its reader.
struct FlushPolicy {
    /// -U: the `-w` output is flushed after every batch of packets the client
    /// receives (tcpdump's "packet-buffered"; a batch is one read from the helper).
    var packetBuffered = false
    /// Immediate mode: everything is flushed after every batch, too.
    var afterEveryBatch = false
    /// Otherwise: waiting output is flushed at least this often.
    static let interval: DispatchTimeInterval = .milliseconds(50)
}

/// The `-w` sink of a capture, shared by the consumer task (which writes) and a
/// timer (which flushes what waits): the sink is only touched under the lock.
///
/// Without -U, records collect in the writer's buffer and are flushed by the
/// timer at most `FlushPolicy.interval` after they were written, so a reader of
/// a pipe or a growing file sees packets within about 50 ms at any rate, and a
/// file always ends at its last complete record. The same timer starts the next
/// file of a time-based ring (-G, -b duration:) when no packet comes to do it.
final class OutputFlusher: Sendable {
    private struct State {
        var sink: (any PacketSink)?
        var dirty = false
        var failure: CaptureFileError?
    }

    private let state: Mutex<State>
    let text: Output
    private let policy: FlushPolicy

    init(sink: sending (any PacketSink)?, text: Output, policy: FlushPolicy) {
        state = Mutex(State(sink: sink))
        self.text = text
        self.policy = policy
    }

    /// Writes `packets` to the sink, then flushes it as the policy asks.
    /// - Returns: how many of them were taken (fewer only when the sink asked
    ///   to stop), and whether the sink asked to stop.
    func write<C: Collection<Packet>>(_ packets: C) throws(CaptureFileError) -> (taken: Int, stop: Bool) {
        try state.withLock { (s: inout State) throws(CaptureFileError) -> (taken: Int, stop: Bool) in
            guard let sink = s.sink else { return (packets.count, false) }
            if let failure = s.failure { throw failure }
            var taken = 0
            for packet in packets {
                guard try sink.take(packet) else { break }
                taken += 1
                if sink.stopRequested { break }
            }
            if policy.packetBuffered || policy.afterEveryBatch {
                try sink.flush()
                s.dirty = false
            } else {
                s.dirty = true
            }
            return (taken, sink.stopRequested)
        }
    }

    /// After the lines of a batch were printed: in immediate mode they go out now.
    func endOfBatch() {
        if policy.afterEveryBatch { text.flush() }
    }

    /// The timer's job: rotate a file whose time is up, flush what waits (a
    /// failure is kept for the next `write` and for `close`).
    /// - Returns: whether the capture must stop (the sink asked to, or failed).
    func flushWaiting() -> Bool {
        let stop = state.withLock { s -> Bool in
            guard let sink = s.sink, s.failure == nil else { return s.failure != nil }
            do throws(CaptureFileError) {
                try sink.tick()
                if s.dirty { try sink.flush() }
            } catch {
                s.failure = error
            }
            s.dirty = false
            return sink.stopRequested || s.failure != nil
        }
        text.flush()
        return stop
    }

    /// A timer on `queue` that calls `flushWaiting` every `FlushPolicy.interval`,
    /// and `stop` once when it says the capture must stop.
    func startTimer(on queue: DispatchQueue, stop: @escaping @Sendable () -> Void) -> any DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + FlushPolicy.interval, repeating: FlushPolicy.interval)
        let stopped = Mutex(false)
        timer.setEventHandler { [self] in
            if flushWaiting(), !stopped.withLock({ s in defer { s = true }; return s }) { stop() }
        }
        timer.resume()
        return timer
    }

    /// Flushes and closes the sink; throws a failure the timer met, if any.
    func close() throws(CaptureFileError) {
        text.flush()
        try state.withLock { (s: inout State) throws(CaptureFileError) in
            guard let sink = s.sink else { return }
            s.sink = nil
            try sink.close()
            if let failure = s.failure { throw failure }
        }
    }
}
