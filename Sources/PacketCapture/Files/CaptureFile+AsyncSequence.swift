extension CaptureFile {
    /// The file's packets as an `AsyncSequence` of copied `Packet`s.
    ///
    /// Packets are copied in batches: the `bytes` of neighbouring packets share
    /// one buffer of about 256 KiB. A damaged file yields every complete packet,
    /// then throws `CaptureFileError`. Iteration ends early, without error, when
    /// the task is cancelled.
    ///
    /// A stream (standard input, a pipe) is read on a thread of the file's own,
    /// started on first use, so a writer that stalls blocks no thread of the
    /// cooperative pool; a mapped file is copied on the pool (it does not block).
    public var packets: PacketSequence { PacketSequence(file: self) }

    public struct PacketSequence: AsyncSequence {
        public typealias Element = Packet
        public typealias Failure = CaptureFileError

        let file: CaptureFile

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(BatchCopier(file: file)) }

        public struct AsyncIterator: AsyncIteratorProtocol {
            public typealias Element = Packet
            public typealias Failure = CaptureFileError

            private let copier: BatchCopier
            private var batch: [Packet] = []
            private var position = 0

            init(_ copier: BatchCopier) { self.copier = copier }

            public mutating func next() async throws(CaptureFileError) -> Packet? {
                try await next(isolation: nil)
            }

            /// Hands out a batch where the caller runs; only a refill leaves it.
            public mutating func next(isolation actor: isolated (any Actor)?) async throws(CaptureFileError)
                -> Packet? {
                while position == batch.count {
                    guard let next = try await copier.nextBatch() else { return nil }
                    batch = next
                    position = 0
                }
                defer { position += 1 }
                return batch[position]
            }
        }
    }
}

/// The walk behind an `AsyncIterator`, copying packets in batches.
///
/// `@unchecked Sendable`: it holds the (non-Sendable) file, but only its
/// iterator uses it, one `nextBatch()` at a time, as iterators are used.
final class BatchCopier: @unchecked Sendable {
    let file: CaptureFile
    private var walker: CaptureFile.Walker?
    private var pendingError: CaptureFileError?
    private var finished = false

    static let batchBytes = 256 << 10
    static let batchPackets = 1024

    init(file: CaptureFile) { self.file = file }

    /// The next batch (never empty), or nil at the end. Not isolated to the
    /// caller: a stream's blocking reads run on the file's read thread.
    func nextBatch() async throws(CaptureFileError) -> [Packet]? {
        while true {
            if let error = pendingError {
                pendingError = nil
                finished = true
                throw error
            }
            if finished || Task.isCancelled { return nil }
            let executor = try file.streamReadExecutor()
            let batch = await withTaskExecutorPreference(executor) { fill() }
            if !batch.isEmpty { return batch }
        }
    }

    /// Copies the next packets into one shared buffer.
    private func fill() -> [Packet] {
        struct Meta {
            var range: Range<Int>
            var timestamp: Timestamp?
            var wireLength: Int
            var linkType: LinkType
            var interfaceIndex: Int
            var comments: [String]
        }
        var storage: [UInt8] = []
        storage.reserveCapacity(Self.batchBytes)
        var metas: [Meta] = []
        func take(_ record: CaptureFileRecord) -> Bool {
            if case .packet(let view) = record {
                let start = storage.count
                storage.append(contentsOf: view.bytes)
                metas.append(Meta(range: start..<storage.count, timestamp: view.timestamp,
                                  wireLength: view.wireLength, linkType: view.linkType,
                                  interfaceIndex: view.interfaceIndex, comments: view.comments))
            }
            return storage.count < Self.batchBytes && metas.count < Self.batchPackets
        }
        do {
            var w: CaptureFile.Walker
            if let walker { w = walker } else { w = try file.makeWalker() }
            defer { walker = w }
            finished = try file.walkRecords(&w, blocks: false, take)
        } catch let error as CaptureFileError {
            pendingError = error   // named by the walk
        } catch {
            preconditionFailure("only the walk throws here: \(error)")
        }
        return metas.map { m in
            Packet(timestamp: m.timestamp, wireLength: m.wireLength, bytes: storage[m.range],
                   linkType: m.linkType, interfaceIndex: m.interfaceIndex, comments: m.comments)
        }
    }
}
