import Dispatch
import Synchronization

/// The timestamp-order merge behind `MultiInterfaceCapture`: one producer task
/// per capture appends its batches, one consumer takes what may be handed out.
/// All state is under one lock; waiting is done with continuations (nothing
/// blocks a thread of the cooperative pool).
final class PacketMerger: Sendable {
    /// Packets of one interface not handed out yet, in arrival order.
    struct Pending {
        var packets: [Packet] = []
        /// When each packet reached the merger (monotonic ns).
        var arrivals: [Int64] = []
        var head = 0
        var finished = false

        var count: Int { packets.count - head }
        var headTimestamp: Int64 { packets[head].timestamp?.totalNanoseconds ?? 0 }

        mutating func append(_ batch: [Packet], at now: Int64) {
            packets.append(contentsOf: batch)
            arrivals.append(contentsOf: repeatElement(now, count: batch.count))
        }

        mutating func pop() -> Packet {
            let packet = packets[head]
            head += 1
            if head == packets.count {
                packets.removeAll(keepingCapacity: true)
                arrivals.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 4096 && head * 2 >= packets.count {
                packets.removeFirst(head)
                arrivals.removeFirst(head)
                head = 0
            }
            return packet
        }
    }

    struct State {
        var queues: [Pending]
        var failure: CaptureError?
        var closed = false
        /// Bumped by everything that may let the consumer proceed.
        var generation = 0
        var consumer: UnsafeContinuation<Void, Never>?
        var blockedProducers: [UnsafeContinuation<Void, Never>?]
    }

    enum Step {
        case packets([Packet])
        case end
        case failed(CaptureError)
        /// Nothing to hand out yet: wait for `generation` to change or `deadline` (monotonic ns).
        case wait(generation: Int, deadline: Int64?)
    }

    let lookaheadNanoseconds: Int64
    let pendingLimit: Int
    private let state: Mutex<State>

    init(count: Int, lookaheadNanoseconds: Int64, pendingLimit: Int) {
        self.lookaheadNanoseconds = lookaheadNanoseconds
        self.pendingLimit = pendingLimit
        state = Mutex(State(queues: Array(repeating: Pending(), count: count),
                            blockedProducers: Array(repeating: nil, count: count)))
    }

    // MARK: Producers

    /// Moves `capture`'s batches into queue `index` until the capture ends.
    func feed(from capture: LiveCapture, index: Int) async {
        do throws(CaptureError) {
            for try await batch in capture.batches {
                var packets: [Packet] = []
                packets.reserveCapacity(batch.count)
                for var packet in batch {
                    packet.interfaceIndex = index
                    packets.append(packet)
                }
                if try await !append(packets, to: index) { break }
            }
            finish(index, nil)
        } catch {
            finish(index, error)
        }
    }

    /// Appends a batch; waits while the queue is over its limit.
    /// - Returns: false once the merger is closed.
    private func append(_ packets: [Packet], to index: Int) async throws(CaptureError) -> Bool {
        let (consumer, full) = state.withLock { s in
            s.queues[index].append(packets, at: monotonicNanoseconds())
            s.generation &+= 1
            defer { s.consumer = nil }
            return (s.consumer, s.queues[index].count >= pendingLimit && !s.closed)
        }
        consumer?.resume()
        if full {
            await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
                let goOn = state.withLock { s in
                    if s.closed || s.queues[index].count < pendingLimit { return true }
                    s.blockedProducers[index] = c
                    return false
                }
                if goOn { c.resume() }
            }
        }
        return !state.withLock { $0.closed }
    }

    private func finish(_ index: Int, _ error: CaptureError?) {
        let consumer = state.withLock { s in
            s.queues[index].finished = true
            if let error, s.failure == nil { s.failure = error }
            s.generation &+= 1
            defer { s.consumer = nil }
            return s.consumer
        }
        consumer?.resume()
    }

    // MARK: Consumer

    /// The next packets that may be handed out, nil at the end.
    nonisolated(nonsending)
    func nextBatch() async throws(CaptureError) -> [Packet]? {
        while true {
            if Task.isCancelled { return nil }
            switch take(now: monotonicNanoseconds()) {
            case .packets(let packets): return packets
            case .end: return nil
            case .failed(let error): throw error
            case .wait(let generation, let deadline):
                await withTaskCancellationHandler {
                    await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
                        let resumeNow = state.withLock { s in
                            if s.generation != generation || s.closed { return true }
                            s.consumer = c
                            return false
                        }
                        if resumeNow {
                            c.resume()
                        } else if let deadline {
                            let delay = max(0, deadline - monotonicNanoseconds())
                            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(delay))) { [self] in
                                wakeConsumer(bump: false)
                            }
                        }
                    }
                } onCancel: {
                    wakeConsumer(bump: true)
                }
            }
        }
    }

    private func wakeConsumer(bump: Bool) {
        let consumer = state.withLock { s in
            if bump { s.generation &+= 1 }
            defer { s.consumer = nil }
            return s.consumer
        }
        consumer?.resume()
    }

    /// Everything that may be handed out now, or what to wait for.
    private func take(now: Int64) -> Step {
        var released: [UnsafeContinuation<Void, Never>] = []
        let step: Step = state.withLock { s in
            if s.closed { return .end }
            var out: [Packet] = []
            while let i = Self.releasable(s, now: now, lookahead: lookaheadNanoseconds, limit: pendingLimit) {
                out.append(s.queues[i].pop())
                if s.queues[i].count < pendingLimit, let c = s.blockedProducers[i] {
                    s.blockedProducers[i] = nil
                    released.append(c)
                }
            }
            if !out.isEmpty { return .packets(out) }
            if s.queues.allSatisfy({ $0.finished && $0.count == 0 }) {
                if let failure = s.failure { return .failed(failure) }
                return .end
            }
            if let failure = s.failure, s.queues.allSatisfy({ $0.count == 0 }) { return .failed(failure) }
            let oldest = s.queues.filter { $0.count > 0 }.map { $0.arrivals[$0.head] }.min()
            return .wait(generation: s.generation, deadline: oldest.map { $0 + lookaheadNanoseconds })
        }
        for c in released { c.resume() }
        return step
    }

    /// The queue whose head goes out next, if one may: the earliest head, once
    /// every running interface has a packet waiting, or a packet has waited
    /// `lookahead`, or a queue is over `limit`, or a capture failed.
    private static func releasable(_ s: State, now: Int64, lookahead: Int64, limit: Int) -> Int? {
        var earliest: Int?
        var everyRunningHasOne = true
        var oldestArrival = Int64.max
        var overLimit = false
        for (i, q) in s.queues.enumerated() {
            guard q.count > 0 else {
                if !q.finished { everyRunningHasOne = false }
                continue
            }
            if earliest == nil || q.headTimestamp < s.queues[earliest!].headTimestamp { earliest = i }
            oldestArrival = min(oldestArrival, q.arrivals[q.head])
            if q.count >= limit { overLimit = true }   // its producer waits at the limit: make room
        }
        guard let earliest else { return nil }
        if everyRunningHasOne || overLimit || s.failure != nil || now - oldestArrival >= lookahead { return earliest }
        return nil
    }

    /// Ends iteration and lets every producer go.
    func close() {
        let (consumer, producers) = state.withLock { s in
            s.closed = true
            s.generation &+= 1
            defer { s.consumer = nil; s.blockedProducers = s.blockedProducers.map { _ in nil } }
            return (s.consumer, s.blockedProducers.compactMap { $0 })
        }
        consumer?.resume()
        for p in producers { p.resume() }
    }
}
