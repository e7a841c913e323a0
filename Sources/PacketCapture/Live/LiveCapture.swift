import SwiftcapWire

/// A live capture on one interface, done by a `swiftcap-helper` process.
///
/// The helper holds CAP_NET_RAW just long enough to open the capture; the
/// application holds none. Each capture has its own helper and its own I/O
/// thread; packets reach the application through a bounded queue, in batches.
///
///     let capture = try await LiveCapture.open(interface: "eth0", options: .init(filter: "tcp port 443"))
///     for try await packet in capture.packets { ... }
///     await capture.close()
///
/// A capture dropped without `close()` shuts its helper down in the background
/// (stdin EOF, then SIGKILL after 2 s): no descriptor, thread or zombie remains.
public final class LiveCapture: Sendable {
    /// The interface captured on.
    public let interface: String
    /// `user@host` when the helper runs on another machine (`HelperTransport.ssh`).
    public let remoteHost: String?
    /// `host:interface` for a remote capture, the interface name otherwise: the
    /// name to show, or to give the interface in a pcapng file.
    public var qualifiedName: String { remoteHost.map { "\($0):\(interface)" } ?? interface }
    /// pcap_datalink() of the open capture, as its LINKTYPE_ value (DLT_RAW 12
    /// is `.raw`, 101), the value a capture file of its packets stores.
    public let linkType: LinkType
    /// pcap_snapshot() of the open capture (libpcap may lower what was asked).
    public let snapshotLength: Int
    /// What the capture really delivers.
    public let timestampPrecision: TimestampPrecision
    /// pcap_activate's warning, if it gave one.
    public let warning: String?
    /// The helper's process ID (for diagnostics and tests).
    public let helperProcessID: Int32
    /// pcap_lib_version() of the helper.
    public let libpcapVersion: String
    /// The helper executable in use.
    public let helperPath: String

    let session: HelperSession
    private let filterLengthLimit: Int

    private init(interface: String, ready: Ready, session: HelperSession, filterLengthLimit: Int) {
        self.interface = interface
        if case .ssh(let destination) = session.transport { remoteHost = destination.displayName } else { remoteHost = nil }
        self.linkType = LinkType(linuxDLT: ready.linkType)
        self.snapshotLength = Int(ready.snapshotLength)
        self.timestampPrecision = TimestampPrecision(ready.timestampPrecision)
        self.warning = ready.warning.isEmpty ? nil : ready.warning
        self.helperProcessID = session.processID
        self.libpcapVersion = session.libpcapVersion
        self.helperPath = session.helperPath
        self.session = session
        self.filterLengthLimit = filterLengthLimit
    }

    deinit {
        session.abandon()
    }

    /// Opens a capture.
    ///
    /// - Parameters:
    ///   - interface: the interface name; nil captures on the default device
    ///     (`NetworkDevice.defaultDevice`, the first of pcap_findalldevs).
    ///   - options: see `CaptureOptions`.
    ///
    /// The helper is `options.helperPath`, else `$SWIFTCAP_HELPER`, else the first
    /// existing path of `HelperInstallation.searchPaths` (next to the running
    /// executable, then `PREFIX/libexec/swiftcap/swiftcap-helper` for /usr/local and /usr).
    public static func open(interface: String? = nil, options: CaptureOptions = CaptureOptions()) async throws(CaptureError) -> LiveCapture {
        // Check the options before starting anything.
        _ = try options.openRequest(device: interface ?? "")
        let device: String
        if let interface {
            try CaptureOptions.checkInterfaceName(interface)
            device = interface
        } else {
            device = try await NetworkDevice.defaultDevice(helperPath: options.helperPath,
                                                           timeout: options.requestTimeout, transport: options.transport).name
        }
        let request = try options.openRequest(device: device)
        let session = try HelperSession.start(helperPath: options.helperPath, arguments: options.monitorMode ? ["--keep-net-admin"] : [],
                                              mode: .capture, interface: device, queueLimit: options.queueCapacity,
                                              deadlines: options.deadlines, transport: options.transport)
        let reply = await session.request(.open(request), .open, filter: options.filter)
        switch reply {
        case .success(.ready(let ready)):
            return LiveCapture(interface: device, ready: ready, session: session, filterLengthLimit: options.filterLengthLimit)
        case .success(.error(let e)):
            await session.waitFinished()
            var context = ErrorContext(helperPath: session.helperPath, interface: device, filter: options.filter)
            if case .ssh(let destination) = options.transport { context.remoteHost = destination.displayName }
            throw CaptureError.fromHelper(e, context)
        case .success(let other):
            session.abandon()
            throw CaptureError(.protocolViolation, "the helper answered open with \(other.frameType); the helper and the client must come from the same swiftcap version", helperPath: session.helperPath)
        case .failure(let error):
            await session.waitFinished()
            throw error
        }
    }

    /// The captured packets, in order. Iteration ends (nil) after `close()` or
    /// when the iterating task is cancelled, and throws `.helperTerminated` (or
    /// the helper's fatal error) after the packets received before the helper ended.
    public var packets: PacketStream { PacketStream(capture: self) }

    /// The captured packets in batches, one per read from the helper (see
    /// `PacketBatches`): the cheapest way to consume a busy capture.
    ///
    ///     for try await batch in capture.batches {
    ///         for packet in batch { ... }
    ///     }
    ///
    /// Ends and throws as `packets` does.
    public var batches: PacketBatches { PacketBatches(capture: self) }

    /// A `TaskExecutor` that runs tasks on this capture's I/O thread (see
    /// `CaptureExecutor`): a consumer inside
    /// `withTaskExecutorPreference(capture.executor) { ... }` is resumed where the
    /// packets are read, without another thread wake-up. It must not block.
    public var executor: CaptureExecutor { session.executor }

    /// The next packet, or nil when `timeout` passes first (or the task is cancelled).
    /// - Throws: `.captureClosed` after `close()`, `.helperTerminated` when the helper is gone.
    nonisolated(nonsending)
    public func next(timeout: Duration) async throws(CaptureError) -> Packet? {
        let deadline = saturatingAdd(monotonicNanoseconds(), max(0, timeout.saturatingNanoseconds))
        switch await session.nextPacket(deadline: deadline) {
        case .packet(let p): return p
        case .none: return nil
        case .failed(let e): throw e
        }
    }

    /// Sends `bytes` as one packet (pcap_inject), link-layer header included.
    /// - Returns: the number of bytes written.
    /// - Throws: `.packetTooLarge` for an empty packet or one over 262144 bytes
    ///   (before anything is sent), `.injectFailed` with pcap's message otherwise.
    nonisolated(nonsending)
    public func inject<C: Collection<UInt8>>(_ bytes: C) async throws(CaptureError) -> Int {
        let count = bytes.count
        guard count >= 1, count <= Wire.maxSnapshotLength else {
            throw CaptureError(.packetTooLarge, "a packet to inject must be 1...\(Wire.maxSnapshotLength) bytes, this one is \(count); split the data over several packets that fit the interface MTU", helperPath: helperPath)
        }
        switch try await session.request(.inject(Array(bytes)), .inject).get() {
        case .injected(let n): return Int(n)
        case .error(let e): throw CaptureError.fromHelper(e, session.context)
        default: throw unexpectedReply()
        }
    }

    /// What `inject(batch:)` did.
    public struct InjectResult: Sendable {
        /// Packets the interface took, and their bytes.
        public var sent: Int
        public var bytes: Int
        /// Packets pcap_inject refused; `firstError` says why the first one was.
        public var failed: Int
        public var firstError: CaptureError?
    }

    /// Sends the packets of `batch` in order with one request to the helper
    /// (sendmmsg of up to 1024 at a time, pcap_inject on cooked captures): the
    /// way to inject at top speed. Every packet is tried; failures are counted,
    /// not thrown. An empty batch sends nothing.
    /// - Throws: the session's errors (`.captureClosed`, `.helperTerminated`).
    nonisolated(nonsending)
    public func inject(batch: InjectBatch) async throws(CaptureError) -> InjectResult {
        guard !batch.isEmpty else { return InjectResult(sent: 0, bytes: 0, failed: 0, firstError: nil) }
        switch try await session.request(.injectBatch(batch.wire), .injectBatch).get() {
        case .injectedBatch(let r):
            let error = r.failed > 0 ? CaptureError.fromHelper(WireError(code: .injectFailed, fatal: false, message: r.firstError), session.context) : nil
            return InjectResult(sent: Int(r.sent), bytes: Int(r.bytes), failed: Int(r.failed), firstError: error)
        default: throw unexpectedReply()
        }
    }

    /// `inject(batch:)` of packets given as arrays: at most 262144 bytes of
    /// packets per call, each 1...262144 bytes (split larger sets over several calls).
    /// - Throws: `.packetTooLarge` before anything is sent when a packet or the
    ///   batch does not fit; the session's errors otherwise.
    nonisolated(nonsending)
    public func inject(batch packets: [[UInt8]]) async throws(CaptureError) -> InjectResult {
        var batch = InjectBatch(maximumCount: packets.count)
        for packet in packets {
            let fits: Bool
            do throws(CaptureError) { fits = try batch.append(packet) } catch { fits = false }
            guard fits else {
                let total = packets.reduce(0) { $0 + 4 + $1.count } + 4
                throw CaptureError(.packetTooLarge, "a batch to inject must hold packets of at least 1 byte and at most \(LiveCapture.maximumBatchBytes) bytes in all (this one: \(total)); send it in smaller batches", helperPath: helperPath)
            }
        }
        return try await inject(batch: batch)
    }

    /// The most bytes one `inject(batch:)` may carry, lengths included.
    public static let maximumBatchBytes = Wire.maxPayloadLength

    /// Replaces the filter (pcap_setfilter). On failure the old filter stays and
    /// the error carries pcap's message.
    nonisolated(nonsending)
    public func setFilter(_ expression: String, optimize: Bool = true, netmask: UInt32? = nil) async throws(CaptureError) {
        let spec = try CaptureOptions.filterSpec(expression, optimize: optimize, netmask: netmask, limit: filterLengthLimit)
        switch try await session.request(.setFilter(spec), .setFilter, filter: expression).get() {
        case .filterSet: return
        case .error(let e):
            var context = session.context
            context.filter = expression
            throw CaptureError.fromHelper(e, context)
        default: throw unexpectedReply()
        }
    }

    /// pcap_stats() of the capture plus the client's own count.
    nonisolated(nonsending)
    public func statistics() async throws(CaptureError) -> CaptureStatistics {
        switch try await session.request(.statisticsRequest, .statistics).get() {
        case .statistics(let s):
            return CaptureStatistics(received: s.received, droppedByKernel: s.droppedByKernel, droppedByInterface: s.droppedByInterface,
                                     delivered: session.delivered.load(ordering: .relaxed), sentByHelper: s.sentByHelper,
                                     droppedByClient: session.droppedByClient.load(ordering: .relaxed))
        default: throw unexpectedReply()
        }
    }

    /// Closes the capture: sends `close`, waits for `end` and the helper's exit
    /// (SIGKILL after 2 s). Packets not yet taken are dropped, iteration ends.
    /// Calling it again does nothing; any other use afterwards throws `.captureClosed`.
    nonisolated(nonsending)
    public func close() async {
        await session.close()
    }

    private func unexpectedReply() -> CaptureError {
        CaptureError(.protocolViolation, "the helper sent an unexpected reply; the helper and the client must come from the same swiftcap version", helperPath: helperPath)
    }
}

/// Test and diagnostics hooks.
extension LiveCapture {
    /// Largest number of bytes the packet queue ever held (bounded by `queueCapacity`
    /// plus what a reply may force through, see docs/PROTOCOL.md).
    @_spi(Testing) public var peakQueuedBytes: Int { session.state.withLock { $0.queue.peakBytes } }
    /// Bytes the packet queue holds now.
    @_spi(Testing) public var queuedBytes: Int { session.state.withLock { $0.queue.bytes } }
    /// Packets handed to the application so far.
    @_spi(Testing) public var deliveredCount: UInt64 { session.delivered.load(ordering: .relaxed) }
    /// Whether the helper has been reaped.
    @_spi(Testing) public var helperFinished: Bool { session.isFinished }
}
