import Dispatch
import Synchronization

/// Live captures on several interfaces as one stream of packets in timestamp
/// order, each packet's `interfaceIndex` naming its capture (its position in
/// `captures`). One helper per interface, as `LiveCapture.open` makes them.
///
///     let merged = try await MultiInterfaceCapture.open(interfaces: ["eth0", "lo"], options: .init(filter: "icmp"))
///     for try await packet in merged.packets { print(merged.captures[packet.interfaceIndex].interface) }
///     await merged.close()
///
/// Ordering uses a bounded lookahead. Each interface's packets already come in
/// order; a packet is handed out when every interface still running has a
/// packet waiting (so the earliest of them is known), or when a waiting packet
/// has been held for `lookahead` (an interface stayed quiet), or when an
/// interface holds more than `pendingLimit` packets (memory stays bounded).
/// A packet that reaches the client more than `lookahead` after a later-stamped
/// packet of another interface was handed out comes out of order, so choose a
/// lookahead above the captures' buffer timeout: `defaultLookahead(for:)` does.
///
/// The stream ends (nil) after `close()` or when the consuming task is cancelled;
/// when one capture fails, the packets still held are handed out in order and
/// then its error is thrown.
public final class MultiInterfaceCapture: Sendable {
    /// The captures, in the order their packets' `interfaceIndex` numbers them.
    public let captures: [LiveCapture]
    /// How long a packet may be held back waiting for other interfaces.
    public let lookahead: Duration
    /// Packets one interface may hold back before they are handed out regardless.
    public let pendingLimit: Int

    let merger: PacketMerger
    private let producers: Mutex<[Task<Void, Never>]>

    /// Merges `captures` (already open, each not iterated elsewhere).
    /// - Throws: `.invalidArgument` when `captures` is empty, `lookahead` is negative
    ///   or `pendingLimit` is below 1.
    public init(captures: [LiveCapture], lookahead: Duration = .milliseconds(150), pendingLimit: Int = 10_000)
        throws(CaptureError) {
        guard !captures.isEmpty else {
            throw CaptureError(.invalidArgument, "MultiInterfaceCapture needs at least one capture; open them with LiveCapture.open first")
        }
        guard lookahead >= .zero else {
            throw CaptureError(.invalidArgument, "lookahead \(lookahead) is negative; pass .zero or more (defaultLookahead(for:) suits the captures' timeout)")
        }
        guard pendingLimit >= 1 else {
            throw CaptureError(.invalidArgument, "pendingLimit \(pendingLimit) must be at least 1; the default is 10000")
        }
        self.captures = captures
        self.lookahead = lookahead
        self.pendingLimit = pendingLimit
        let merger = PacketMerger(count: captures.count, lookaheadNanoseconds: lookahead.saturatingNanoseconds, pendingLimit: pendingLimit)
        self.merger = merger
        producers = Mutex(captures.enumerated().map { index, capture in
            Task { await merger.feed(from: capture, index: index) }
        })
    }

    deinit {
        for task in producers.withLock({ $0 }) { task.cancel() }
    }

    /// Opens one capture per interface with the same options, then merges them.
    /// When one cannot be opened, those already open are closed and its error is thrown.
    ///
    /// - Parameter lookahead: nil chooses `defaultLookahead(for: options.timeout)`.
    public static func open(interfaces: [String], options: CaptureOptions = CaptureOptions(),
                            lookahead: Duration? = nil) async throws(CaptureError) -> MultiInterfaceCapture {
        try await open(interfaces: interfaces, filters: [:], options: options, lookahead: lookahead)
    }

    /// `open(interfaces:options:lookahead:)` with a filter per interface, as
    /// dumpcap's `-i a -f icmp -i b -f udp`: `filters[name]` replaces
    /// `options.filter` for the interface `name`; the others keep `options.filter`.
    /// - Throws: `.invalidArgument` when `filters` names an interface that is not
    ///   in `interfaces` (before anything is opened).
    public static func open(interfaces: [String], filters: [String: String], options: CaptureOptions = CaptureOptions(),
                            lookahead: Duration? = nil) async throws(CaptureError) -> MultiInterfaceCapture {
        guard !interfaces.isEmpty else {
            throw CaptureError(.invalidArgument, "MultiInterfaceCapture.open needs at least one interface name")
        }
        if let stray = filters.keys.sorted().first(where: { !interfaces.contains($0) }) {
            throw CaptureError(.invalidArgument, "filters names \(stray), which is not among the interfaces (\(interfaces.joined(separator: ", "))); key each filter by one of them")
        }
        var opened: [LiveCapture] = []
        do throws(CaptureError) {
            for name in interfaces {
                var own = options
                if let filter = filters[name] { own.filter = filter }
                opened.append(try await LiveCapture.open(interface: name, options: own))
            }
            return try MultiInterfaceCapture(captures: opened, lookahead: lookahead ?? defaultLookahead(for: options.timeout))
        } catch {
            for capture in opened { await capture.close() }
            throw error
        }
    }

    /// A lookahead longer than the time a packet may wait in the kernel for
    /// `timeout`: 20 ms in immediate mode, the timeout plus 50 ms otherwise,
    /// 1 s when the kernel waits for full blocks.
    public static func defaultLookahead(for timeout: CaptureTimeout) -> Duration {
        switch timeout {
        case .immediate: .milliseconds(20)
        case .milliseconds(let ms): .milliseconds(ms) + .milliseconds(50)
        case .never: .seconds(1)
        }
    }

    /// The packets of every capture, in timestamp order (see the type's notes).
    public var packets: MergedPacketStream { MergedPacketStream(merger: merger) }

    /// The same packets in groups: each element holds every packet that could be
    /// handed out at once. Never empty. Ends and throws as `packets` does.
    public var batches: MergedPacketBatches { MergedPacketBatches(merger: merger) }

    /// `LiveCapture.statistics()` of every capture, in `captures` order.
    nonisolated(nonsending)
    public func statistics() async throws(CaptureError) -> [CaptureStatistics] {
        var all: [CaptureStatistics] = []
        for capture in captures { all.append(try await capture.statistics()) }
        return all
    }

    /// Closes every capture; iteration ends. Calling it again does nothing.
    nonisolated(nonsending)
    public func close() async {
        merger.close()
        for capture in captures { await capture.close() }
        for task in producers.withLock({ $0 }) { task.cancel() }
    }
}

/// The packets of a `MultiInterfaceCapture`, one at a time.
public struct MergedPacketStream: AsyncSequence, Sendable {
    public typealias Element = Packet
    public typealias Failure = CaptureError
    let merger: PacketMerger

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(merger: merger) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let merger: PacketMerger
        private var batch: [Packet] = []
        private var index = 0

        init(merger: PacketMerger) { self.merger = merger }

        nonisolated(nonsending)
        public mutating func next() async throws(CaptureError) -> Packet? {
            if index == batch.count {
                guard let more = try await merger.nextBatch() else { return nil }
                batch = more
                index = 0
            }
            index += 1
            return batch[index - 1]
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(CaptureError) -> Packet? {
            try await next()
        }
    }
}

/// The packets of a `MultiInterfaceCapture`, in groups ready at the same time.
public struct MergedPacketBatches: AsyncSequence, Sendable {
    public typealias Element = [Packet]
    public typealias Failure = CaptureError
    let merger: PacketMerger

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(merger: merger) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let merger: PacketMerger

        nonisolated(nonsending)
        public mutating func next() async throws(CaptureError) -> [Packet]? {
            try await merger.nextBatch()
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(CaptureError) -> [Packet]? {
            try await merger.nextBatch()
        }
    }
}
