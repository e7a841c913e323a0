/// Packets decoded from one read of the helper's stdout, in order. The packets'
/// bytes are slices of one shared chunk array.
struct PacketBatch {
    var packets: [Packet]
    /// Index of the first packet not yet handed out.
    var start: Int
    /// Bytes of memory this batch accounts for in the queue bound.
    var cost: Int

    var remaining: Int { packets.count - start }
}

/// The bounded FIFO of batches between the I/O thread and the consumers.
/// Only ever touched under the session's lock.
struct PacketQueue {
    private var batches: [PacketBatch] = []
    private var head = 0
    /// Sum of the `cost` of the batches held.
    private(set) var bytes = 0
    /// Largest `bytes` ever seen.
    private(set) var peakBytes = 0
    /// Packets held.
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func append(_ batch: PacketBatch) {
        guard batch.remaining > 0 else { return }
        batches.append(batch)
        bytes += batch.cost
        count += batch.remaining
        if bytes > peakBytes { peakBytes = bytes }
    }

    /// Removes the first batch: (packets, index of the first unread one).
    mutating func popBatch() -> (packets: [Packet], start: Int)? {
        guard head < batches.count else { return nil }
        let batch = batches[head]
        batches[head] = PacketBatch(packets: [], start: 0, cost: 0)
        head += 1
        bytes -= batch.cost
        count -= batch.remaining
        compact()
        return (batch.packets, batch.start)
    }

    /// Removes one packet.
    mutating func popPacket() -> Packet? {
        guard head < batches.count else { return nil }
        let packet = batches[head].packets[batches[head].start]
        batches[head].start += 1
        count -= 1
        if batches[head].remaining == 0 {
            bytes -= batches[head].cost
            batches[head] = PacketBatch(packets: [], start: 0, cost: 0)
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
