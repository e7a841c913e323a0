/// Packets decoded from one read of the helper's stdout, in order. The packets'
/// bytes are slices of one shared chunk array.
struct QueuedBatch {
    var packets: SendablePackets
    /// Index of the first packet not yet handed out.
    var start: Int
    /// Bytes of memory this batch accounts for in the queue bound.
    var cost: Int

    var remaining: Int { packets.storage.count - start }
}

/// The bounded FIFO of batches between the I/O thread and the consumers.
/// Only ever touched under the session's lock.
struct PacketQueue {
    private var batches: [QueuedBatch] = []
    private var head = 0
    /// Sum of the `cost` of the batches held.
    private(set) var bytes = 0
    /// Largest `bytes` ever seen.
    private(set) var peakBytes = 0
    /// Packets held.
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func append(_ batch: QueuedBatch) {
        guard batch.remaining > 0 else { return }
        batches.append(batch)
        bytes += batch.cost
        count += batch.remaining
        if bytes > peakBytes { peakBytes = bytes }
    }

    /// Removes the first batch: (packets, index of the first unread one).
    mutating func popBatch() -> (packets: SendablePackets, start: Int)? {
        guard head < batches.count else { return nil }
        let batch = batches[head]
        batches[head] = QueuedBatch(packets: SendablePackets(storage: .empty), start: 0, cost: 0)
        head += 1
        bytes -= batch.cost
        count -= batch.remaining
        compact()
        return (batch.packets, batch.start)
    }

    /// Removes one packet.
    mutating func popPacket() -> Packet? {
        guard head < batches.count else { return nil }
        let packet = batches[head].packets.storage.packet(at: batches[head].start)
        batches[head].start += 1
        count -= 1
        if batches[head].remaining == 0 {
            bytes -= batches[head].cost
            batches[head] = QueuedBatch(packets: SendablePackets(storage: .empty), start: 0, cost: 0)
            head += 1
            compact()
        }
        return packet
    }

    mutating func removeAll() {
        batches = []
        head = 0
        bytes = 0
        count = 0
    }

    private mutating func compact() {
        if head == batches.count {
            batches.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64, head * 2 >= batches.count {
            batches.removeFirst(head)
            head = 0
        }
    }
}

@usableFromInline
struct PacketStorageHeader {
    /// Packets the storage was made with.
    @usableFromInline var count: Int
    /// Packets `0 ..< moved` have been moved out or destroyed (see `takePacket`).
    @usableFromInline var moved: Int

    init(count: Int) {
        self.count = count
        self.moved = 0
    }
}

/// The packets of one batch in one allocation.
///
/// A `packets` iterator that holds the only reference moves packets out of it
/// instead of copying them (no retain/release per packet for the copy, none for
/// destroying the batch afterwards); `deinit` destroys only the packets still
/// inside. Everyone else (queue, `PacketBatch`, `next(timeout:)`) copies. It is
/// never mutated after `make` except by such a sole owner, so sharing it across
/// threads is safe (ManagedBuffer itself cannot be declared Sendable).
@usableFromInline
final class PacketStorage: ManagedBuffer<PacketStorageHeader, Packet> {
    /// Creates storage of `count` packets, `initialize(i)` making packet `i`.
    static func make(count: Int, _ initialize: (Int) -> Packet) -> PacketStorage {
        let storage = unsafeDowncast(PacketStorage.create(minimumCapacity: count) { _ in PacketStorageHeader(count: 0) },
                                     to: PacketStorage.self)
        storage.withUnsafeMutablePointers { h, e in
            for i in 0 ..< count { (e + i).initialize(to: initialize(i)) }
            h.pointee.count = count
        }
        return storage
    }

    nonisolated(unsafe) static let empty = PacketStorage.make(count: 0) { _ in fatalError() }

    deinit {
        withUnsafeMutablePointers { h, e in
            let moved = h.pointee.moved
            (e + moved).deinitialize(count: h.pointee.count - moved)
        }
    }

    @inlinable
    var count: Int { withUnsafeMutablePointerToHeader { $0.pointee.count } }

    /// A copy of packet `i` (`i` must not have been moved out).
    @inlinable
    func packet(at i: Int) -> Packet {
        withUnsafeMutablePointers { h, e in
            precondition(i >= h.pointee.moved && i < h.pointee.count, "packet index out of range")
            return e[i]
        }
    }

    /// Packet `i`, moved out when the caller holds the only reference (and
    /// reads in order): the packets before `i` that it copied while the storage
    /// was still shared are destroyed first, as no one can read them any more.
    /// Otherwise a copy.
    @inlinable
    func takePacket(at i: Int, unique: Bool) -> Packet {
        withUnsafeMutablePointers { h, e in
            let moved = h.pointee.moved
            if unique, i >= moved, i < h.pointee.count {
                if i > moved { (e + moved).deinitialize(count: i &- moved) }
                h.pointee.moved = i &+ 1
                return (e + i).move()
            }
            precondition(i >= moved && i < h.pointee.count, "packet index out of range")
            return e[i]
        }
    }
}

/// A `PacketStorage` handed between threads (under the session lock or through
/// a continuation); see `PacketStorage` for why that is safe.
struct SendablePackets: @unchecked Sendable {
    let storage: PacketStorage
}
