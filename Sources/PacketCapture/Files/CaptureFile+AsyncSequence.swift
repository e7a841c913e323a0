extension CaptureFile {
    /// The file's packets as an `AsyncSequence` of copied `Packet`s.
    ///
    /// Packets are copied in batches: the `bytes` of neighbouring packets share
    /// one buffer of about 256 KiB. A damaged file yields every complete packet,
    /// then throws `CaptureFileError`. Iteration ends early, without error, when
    /// the task is cancelled.
    public var packets: PacketSequence { PacketSequence(file: self) }

    public struct PacketSequence: AsyncSequence {
        public typealias Element = Packet
        public typealias Failure = CaptureFileError

        let file: CaptureFile

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(file: file) }

        public struct AsyncIterator: AsyncIteratorProtocol {
            public typealias Element = Packet
            public typealias Failure = CaptureFileError

            let file: CaptureFile
            private var walker: CaptureFile.Walker?
            private var batch: [Packet] = []
            private var position = 0
            private var pendingError: CaptureFileError?
            private var finished = false

            static let batchBytes = 256 << 10
            static let batchPackets = 1024

            init(file: CaptureFile) { self.file = file }

            public mutating func next() async throws(CaptureFileError) -> Packet? {
                try nextPacket()
            }

            public mutating func next(isolation actor: isolated (any Actor)?) async throws(CaptureFileError)
                -> Packet? {
                try nextPacket()
            }

            private mutating func nextPacket() throws(CaptureFileError) -> Packet? {
                if position < batch.count {
                    defer { position += 1 }
                    return batch[position]
                }
                if let error = pendingError {
                    pendingError = nil
                    finished = true
                    throw error
                }
                if finished || Task.isCancelled { return nil }
                try fill()
                if position < batch.count {
                    defer { position += 1 }
                    return batch[position]
                }
                return try nextPacket()
            }

            /// Copies the next batch of packets into one shared buffer.
            private mutating func fill() throws(CaptureFileError) {
                batch.removeAll(keepingCapacity: true)
                position = 0
                var w: CaptureFile.Walker
                if let walker { w = walker } else { w = try file.makeWalker() }
                defer {
                    walker = w
                    file.keepStreamPosition(w)
                }
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
                func take(_ view: PacketView) {
                    let start = storage.count
                    storage.append(contentsOf: view.bytes)
                    metas.append(Meta(range: start..<storage.count, timestamp: view.timestamp,
                                      wireLength: view.wireLength, linkType: view.linkType,
                                      interfaceIndex: view.interfaceIndex, comments: view.comments))
                }
                do {
                    while storage.count < Self.batchBytes && metas.count < Self.batchPackets {
                        let view: PacketView?
                        switch w {
                        case .pcap(var p):
                            view = try p.next()
                            w = .pcap(p)
                        case .pcapng(var p):
                            view = try p.next()
                            w = .pcapng(p)
                        }
                        guard let view else {
                            finished = true
                            break
                        }
                        take(view)
                    }
                } catch {
                    pendingError = file.failed(error)
                }
                for m in metas {
                    batch.append(Packet(timestamp: m.timestamp, wireLength: m.wireLength, bytes: storage[m.range],
                                        linkType: m.linkType, interfaceIndex: m.interfaceIndex,
                                        comments: m.comments))
                }
            }
        }
    }
}
