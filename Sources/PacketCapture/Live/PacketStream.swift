/// The packets of a `LiveCapture`, as an `AsyncSequence`.
///
/// The iterator takes a whole batch (every packet of one read from the helper)
/// under the session lock, then hands its packets out without locking. Several
/// iterators may run at once; each packet goes to exactly one of them.
/// The stream keeps its capture open while it exists.
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

        let capture: LiveCapture
        private var batch: [Packet] = []
        private var index = 0
        private var done = false

        init(capture: LiveCapture) {
            self.capture = capture
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(CaptureError) -> Packet? {
            if index < batch.count {
                return take()
            }
            return try await refill()
        }

        public mutating func next() async throws(CaptureError) -> Packet? {
            if index < batch.count {
                return take()
            }
            return try await refill()
        }

        @inline(__always)
        private mutating func take() -> Packet {
            let packet = batch[index]
            index += 1
            capture.session.delivered.add(1, ordering: .relaxed)
            return packet
        }

        nonisolated(nonsending)
        private mutating func refill() async throws(CaptureError) -> Packet? {
            batch = []
            index = 0
            if done { return nil }
            switch await capture.session.nextBatch() {
            case .batch(let packets, let start):
                batch = packets
                index = start
                return index < batch.count ? take() : nil
            case .end:
                return nil
            case .failed(let error):
                done = true
                throw error
            }
        }
    }
}
