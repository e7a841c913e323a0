/// The packets of a `LiveCapture`, as an `AsyncSequence`.
///
/// The iterator takes a whole batch (every packet of one read from the helper)
/// under the session lock, then hands its packets out without locking and
/// without suspending: only taking the next batch is an asynchronous step.
/// Several iterators may run at once; each packet goes to exactly one of them.
/// The stream keeps its capture open while it exists.
///
/// For the lowest per-packet cost, iterate `LiveCapture.batches` instead.
public struct PacketStream: AsyncSequence, Sendable {
    public typealias Element = Packet
    public typealias Failure = CaptureError

    let capture: LiveCapture

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(capture: capture)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Element = Packet
        public typealias Failure = CaptureError

        @usableFromInline let capture: LiveCapture
        /// The batch being handed out; packets `index ..< end` are still to come.
        @usableFromInline var storage: PacketStorage?
        @usableFromInline var index = 0
        @usableFromInline var end = 0
        @usableFromInline var done = false

        init(capture: LiveCapture) {
            self.capture = capture
        }

        // Inlinable so that the fast path (a packet of the batch in hand) is
        // compiled into the caller's loop: no async call, no executor check.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(CaptureError) -> Packet? {
            if index < end { return take() }
            return try await refill()
        }

        @inlinable
        public mutating func next() async throws(CaptureError) -> Packet? {
            if index < end { return take() }
            return try await refill()
        }

        /// The next packet of the batch in hand: moved out of it when this
        /// iterator holds the only reference (the usual case), else copied.
        @inlinable
        mutating func take() -> Packet {
            let i = index
            index = i &+ 1
            let unique = isKnownUniquelyReferenced(&storage)
            return storage.unsafelyUnwrapped.takePacket(at: i, unique: unique)
        }

        @usableFromInline
        nonisolated(nonsending)
        mutating func refill() async throws(CaptureError) -> Packet? {
            storage = nil
            index = 0
            end = 0
            if done { return nil }
            switch await capture.session.nextBatch() {
            case .batch(let packets, let start):
                storage = packets.storage
                index = start
                end = packets.storage.count
            case .end:
                return nil
            case .failed(let error):
                done = true
                throw error
            }
            return index < end ? take() : nil
        }
    }
}

/// The packets of one read from the helper, in capture order: an element of
/// `LiveCapture.batches`. Indices run from 0 to `count`.
///
/// The packets' bytes share buffers with the rest of the batch (see `Packet`).
/// (Sendable: its storage is immutable while shared; see `PacketStorage`.)
public struct PacketBatch: RandomAccessCollection, @unchecked Sendable {
    public typealias Element = Packet
    public typealias Index = Int

    @usableFromInline let storage: PacketStorage
    @usableFromInline let base: Int
    @usableFromInline let end: Int

    init(storage: PacketStorage, base: Int) {
        self.storage = storage
        self.base = base
        self.end = storage.count
    }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { end - base }
    @inlinable public var count: Int { end - base }

    @inlinable
    public subscript(position: Int) -> Packet {
        precondition(position >= 0 && position < end - base, "PacketBatch index out of range")
        return storage.packet(at: base &+ position)
    }
}

/// The packets of a `LiveCapture` as an `AsyncSequence` of batches: one
/// asynchronous step per read from the helper (up to thousands of packets under
/// load) instead of one per packet. Never yields an empty batch.
///
/// Iteration ends (nil) after `close()` or when the iterating task is
/// cancelled, and throws as `LiveCapture.packets` does. Several iterators may
/// run at once, also alongside `packets` iterators; each batch goes to one of them.
public struct PacketBatches: AsyncSequence, Sendable {
    public typealias Element = PacketBatch
    public typealias Failure = CaptureError

    let capture: LiveCapture

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(capture: capture)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Element = PacketBatch
        public typealias Failure = CaptureError

        let capture: LiveCapture
        private var done = false

        init(capture: LiveCapture) {
            self.capture = capture
        }

        nonisolated(nonsending)
        public mutating func next() async throws(CaptureError) -> PacketBatch? {
            if done { return nil }
            while true {
                switch await capture.session.nextBatch() {
                case .batch(let packets, let start):
                    if start < packets.storage.count { return PacketBatch(storage: packets.storage, base: start) }
                case .end:
                    return nil
                case .failed(let error):
                    done = true
                    throw error
                }
            }
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(CaptureError) -> PacketBatch? {
            try await next()
        }
    }
}
