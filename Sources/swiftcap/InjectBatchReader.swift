import Dispatch
import PacketCapture
import Synchronization

/// `inject --topspeed`'s file reading: a walk of the file on a dispatch queue
/// (synchronous, no `Packet` per record: each record's bytes go straight from
/// the mapped file or the stream buffer into an `InjectBatch`), handing full
/// batches to the sending task. At most `depth` batches wait, so memory stays
/// bounded, and a blocking read of standard input never runs on Swift's
/// cooperative threads.
final class InjectBatchReader: Sendable {
    /// What the walk hands over, in file order.
    enum Item: Sendable {
        /// Packets to send; `rejected` records before or among them could not
        /// be sent at all (empty, or over 262144 bytes), the first for `rejection`.
        case batch(InjectBatch, rejected: Int, rejection: CaptureError?)
        /// A packet of another link type than the interface's: the walk stopped before it.
        case linkTypeMismatch(LinkType)
        /// The file is damaged after the packets already handed over.
        case damaged(CaptureFileError)
    }

    private struct State {
        var items: [Item] = []
        var finished = false
        var cancelled = false
        var waiter: CheckedContinuation<Item?, Never>?
    }

    private let state = Mutex(State())
    /// Free places for batches: the walk waits on it when `depth` batches are queued.
    private let room: DispatchSemaphore

    /// Starts walking `file`: at most `limit` records, batches of up to `batchPackets`.
    init(file: CaptureFile, linkType: LinkType, limit: Int, batchPackets: Int, depth: Int = 2) {
        room = DispatchSemaphore(value: depth)
        let walk = UncheckedSendable(file)
        DispatchQueue(label: "swiftcap.inject.read").async { [self] in
            read(walk.value, linkType: linkType, limit: limit, batchPackets: batchPackets)
        }
    }

    /// The next item, nil when the walk is over.
    func next() async -> Item? {
        await withCheckedContinuation { (c: CheckedContinuation<Item?, Never>) in
            let ready: Item?? = state.withLock { s in
                if !s.items.isEmpty { return .some(s.items.removeFirst()) }
                if s.finished { return .some(nil) }
                s.waiter = c
                return nil
            }
            if let ready {
                if case .batch = ready { room.signal() }
                c.resume(returning: ready)
            }
        }
    }

    /// Stops the walk (the sender gave up); what it queued is dropped.
    func cancel() {
        state.withLock { $0.cancelled = true }
        room.signal()
    }

    // MARK: The walk (on the dispatch queue)

    private func read(_ file: CaptureFile, linkType: LinkType, limit: Int, batchPackets: Int) {
        var batch = InjectBatch(maximumCount: batchPackets)
        var rejected = 0
        var rejection: CaptureError?
        var taken = 0
        /// Hands `batch` over; false when the sender cancelled.
        func handOver() -> Bool {
            guard !batch.isEmpty || rejected > 0 else { return true }
            room.wait()
            let item = Item.batch(batch, rejected: rejected, rejection: rejection)
            batch.removeAll()
            (rejected, rejection) = (0, nil)
            return deliver(item)
        }
        do {
            try file.forEachRecord { record in
                guard case .packet(let view) = record else { return true }
                guard taken < limit else { return false }
                guard view.linkType == linkType else {
                    if handOver() { _ = deliver(.linkTypeMismatch(view.linkType)) }
                    return false
                }
                taken += 1
                do throws(CaptureError) {
                    if try !batch.append(view.bytes) {
                        guard handOver() else { return false }
                        _ = try batch.append(view.bytes)
                    }
                } catch {
                    rejected += 1
                    if rejection == nil { rejection = error }
                }
                return true
            }
            _ = handOver()
        } catch {
            if handOver(), let damage = error as? CaptureFileError { _ = deliver(.damaged(damage)) }
        }
        finish()
    }

    /// Queues `item` for the sender (or hands it to a waiting one); false when cancelled.
    private func deliver(_ item: Item) -> Bool {
        let (waiter, cancelled) = state.withLock { s -> (CheckedContinuation<Item?, Never>?, Bool) in
            if s.cancelled { return (nil, true) }
            if let w = s.waiter {
                s.waiter = nil
                return (w, false)
            }
            s.items.append(item)
            return (nil, false)
        }
        if let waiter {
            if case .batch = item { room.signal() }
            waiter.resume(returning: item)
        }
        return !cancelled
    }

    private func finish() {
        let waiter = state.withLock { s -> CheckedContinuation<Item?, Never>? in
            s.finished = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: nil)
    }
}
