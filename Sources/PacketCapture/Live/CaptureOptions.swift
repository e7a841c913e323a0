import SwiftcapWire

/// When the kernel hands packets over (pcap_set_immediate_mode / pcap_set_timeout).
public enum CaptureTimeout: Hashable, Sendable {
    /// Each packet as soon as it arrives (pcap_set_immediate_mode).
    case immediate
    /// Packets are buffered for up to this many milliseconds (pcap_set_timeout), 1 or more.
    case milliseconds(Int)
    /// Packets are delivered only when a kernel buffer block fills (pcap_set_timeout(0)).
    case never
}

/// Which packets to see (pcap_setdirection).
public enum CaptureDirection: Hashable, Sendable {
    /// Received packets only (PCAP_D_IN).
    case `in`
    /// Sent packets only (PCAP_D_OUT).
    case out
    /// Both (PCAP_D_INOUT).
    case inOut
}

/// Timestamp precision (pcap_set_tstamp_precision). Live timestamps always
/// reach the client as nanoseconds; with `.microseconds` the last three digits are 0.
public enum TimestampPrecision: Hashable, Sendable {
    case microseconds
    case nanoseconds
}

/// How to open a live capture. Every field has tcpdump's default.
public struct CaptureOptions: Sendable {
    /// Bytes kept of each packet (pcap_set_snaplen), 1...262144.
    public var snapshotLength: Int
    /// Put the interface in promiscuous mode (pcap_set_promisc).
    public var promiscuous: Bool
    public var timeout: CaptureTimeout
    /// Kernel buffer size in bytes (pcap_set_buffer_size), at most 1 GiB; nil
    /// keeps libpcap's default (2 MiB).
    public var bufferSize: Int?
    /// 802.11 monitor mode (pcap_set_rfmon). The helper then keeps CAP_NET_ADMIN until the capture is open.
    public var monitorMode: Bool
    public var direction: CaptureDirection
    public var timestampPrecision: TimestampPrecision
    /// A pcap-filter(7) expression applied from the start; nil or empty captures everything.
    public var filter: String?
    /// pcap_compile's `optimize` for `filter`.
    public var optimizeFilter: Bool
    /// IPv4 netmask (host byte order) for `filter`'s broadcast tests; nil = unknown.
    public var netmask: UInt32?
    /// Longest filter expression accepted, in UTF-8 bytes; longer ones fail with
    /// `.filterTooLong` before anything is sent to the helper.
    public var filterLengthLimit: Int
    /// The default `filterLengthLimit` (and `FilterCompiler.compile`'s `lengthLimit`).
    public static let defaultFilterLengthLimit = 8192
    /// Where the helper is; nil looks it up (see `LiveCapture.open`).
    public var helperPath: String?
    /// Bound, in bytes, on packets received from the helper and not yet taken by
    /// the application. A full queue stops reading from the helper, and the
    /// kernel drops what does not fit its buffer (`CaptureStatistics.droppedByKernel`).
    public var queueCapacity: Int
    /// How long the helper may take to say hello and to answer each request
    /// after `open` (statistics, setFilter, inject, close; device listing and
    /// filter compiling use their own `timeout` parameter). Past it the helper
    /// is killed and the call throws `.timedOut`.
    public var requestTimeout: Duration = .seconds(5)
    /// How long `open` may take, activation and the open filter's compile
    /// (with its name lookups) included. Past it: `.timedOut`.
    public var openTimeout: Duration = .seconds(30)
    /// A link type by libpcap's name ("LINUX_SLL2", "EN10MB"), among those the
    /// interface offers (`InterfaceDetails.linkTypes`); nil keeps its default (tcpdump -y).
    public var linkTypeName: String?
    /// A time stamp type by libpcap's name ("host", "adapter"), among
    /// `InterfaceDetails.timestampTypes`; nil keeps the default (tcpdump -j). An
    /// unsupported type is a warning (`LiveCapture.warning`), as in tcpdump.
    public var timestampTypeName: String?
    /// Where the helper runs: `.local` (default), or `.ssh(...)` on another
    /// machine. `helperPath` applies to `.local` only; a remote helper's path is
    /// `SSHDestination.helperPath`.
    public var transport: HelperTransport = .local

    public init(snapshotLength: Int = 262_144, promiscuous: Bool = true, timeout: CaptureTimeout = .milliseconds(100),
                bufferSize: Int? = nil, monitorMode: Bool = false, direction: CaptureDirection = .inOut,
                timestampPrecision: TimestampPrecision = .nanoseconds, filter: String? = nil,
                optimizeFilter: Bool = true, netmask: UInt32? = nil, filterLengthLimit: Int = defaultFilterLengthLimit,
                helperPath: String? = nil, queueCapacity: Int = 4 << 20) {
        self.snapshotLength = snapshotLength
        self.promiscuous = promiscuous
        self.timeout = timeout
        self.bufferSize = bufferSize
        self.monitorMode = monitorMode
        self.direction = direction
        self.timestampPrecision = timestampPrecision
        self.filter = filter
        self.optimizeFilter = optimizeFilter
        self.netmask = netmask
        self.filterLengthLimit = filterLengthLimit
        self.helperPath = helperPath
        self.queueCapacity = queueCapacity
    }

    /// The largest `bufferSize` the helper accepts: 1 GiB.
    public static let maximumBufferSize = Limits.maxBufferSize

    /// Checks every field and builds the `open` request.
    func openRequest(device: String) throws(CaptureError) -> OpenRequest {
        guard (1 ... Wire.maxSnapshotLength).contains(snapshotLength) else {
            throw CaptureError(.invalidArgument, "snapshotLength \(snapshotLength) is outside 1...\(Wire.maxSnapshotLength); pass a value in that range (262144 keeps whole packets)")
        }
        let mode: TimeoutMode
        var ms: UInt32 = 0
        switch timeout {
        case .immediate: mode = .immediate
        case .never: mode = .never
        case .milliseconds(let n):
            guard n >= 1, n <= Int(UInt32.max) else {
                throw CaptureError(.invalidArgument, "timeout .milliseconds(\(n)) is outside 1...\(UInt32.max); use .immediate for no buffering or .never to wait for full blocks")
            }
            mode = .milliseconds
            ms = UInt32(n)
        }
        var buffer: UInt32 = 0
        if let bufferSize {
            guard bufferSize >= 1, bufferSize <= Limits.maxBufferSize else {
                throw CaptureError(.invalidArgument, "bufferSize \(bufferSize) is outside 1...\(Limits.maxBufferSize) bytes (1 GiB); pass a smaller value, or nil for libpcap's default")
            }
            buffer = UInt32(bufferSize)
        }
        guard requestTimeout > .zero, openTimeout > .zero else {
            throw CaptureError(.invalidArgument, "requestTimeout \(requestTimeout) and openTimeout \(openTimeout) must be positive")
        }
        guard queueCapacity >= 1 else {
            throw CaptureError(.invalidArgument, "queueCapacity \(queueCapacity) must be positive; the default is 4 MiB")
        }
        let spec = try Self.filterSpec(filter ?? "", optimize: optimizeFilter, netmask: netmask, limit: filterLengthLimit)
        return OpenRequest(device: device, snapshotLength: UInt32(snapshotLength), promiscuous: promiscuous,
                           timeoutMode: mode, timeoutMilliseconds: ms, bufferSize: buffer, monitorMode: monitorMode,
                           direction: direction.wire, timestampPrecision: timestampPrecision.wire,
                           linkTypeName: linkTypeName ?? "", timestampTypeName: timestampTypeName ?? "", filter: spec)
    }

    /// Checks an interface name before it is sent to the helper (which checks
    /// it again, and that the interface exists).
    static func checkInterfaceName(_ name: String) throws(CaptureError) {
        switch InterfaceName.problem(with: name) {
        case .otherCaptureSource(let message)?: throw CaptureError(.unsupported, message)
        case .invalid(let message)?: throw CaptureError(.interfaceNotFound, message + "; list interfaces with NetworkDevice.all()")
        case nil: break
        }
    }

    /// The session's deadlines, in nanoseconds.
    var deadlines: SessionDeadlines {
        SessionDeadlines(reply: requestTimeout.saturatingNanoseconds, open: openTimeout.saturatingNanoseconds)
    }

    /// A filter for the wire, refused when longer than `limit` UTF-8 bytes.
    static func filterSpec(_ expression: String, optimize: Bool, netmask: UInt32?, limit: Int) throws(CaptureError) -> FilterSpec {
        let length = expression.utf8.count
        guard length <= limit else {
            throw CaptureError(.filterTooLong, "the filter expression is \(length) bytes, over the limit of \(limit); shorten it or raise filterLengthLimit")
        }
        return FilterSpec(expression: expression, optimize: optimize, netmask: netmask ?? 0xFFFF_FFFF)
    }
}

extension CaptureDirection {
    var wire: WireDirection {
        switch self {
        case .in: .in
        case .out: .out
        case .inOut: .inOut
        }
    }
}

extension TimestampPrecision {
    var wire: WireTimestampPrecision {
        switch self {
        case .microseconds: .microseconds
        case .nanoseconds: .nanoseconds
        }
    }

    init(_ wire: WireTimestampPrecision) {
        switch wire {
        case .microseconds: self = .microseconds
        case .nanoseconds: self = .nanoseconds
        }
    }
}

/// Counters of a live capture.
public struct CaptureStatistics: Hashable, Sendable {
    /// Packets the kernel passed to the capture (pcap_stats ps_recv).
    public var received: UInt64
    /// Packets dropped because the kernel buffer was full (ps_drop).
    public var droppedByKernel: UInt64
    /// Packets dropped by the interface or its driver (ps_ifdrop).
    public var droppedByInterface: UInt64
    /// Packets the client handed to the application: one by one through
    /// `next(timeout:)`, or a batch at a time to `packets` and `batches`
    /// iterators (counted when the iterator takes the batch, even if it then
    /// stops before its last packet).
    public var delivered: UInt64
    /// Packets the helper wrote to the client (delivered, queued, or in the pipe).
    public var sentByHelper: UInt64
    /// Packets the client discarded because its queue was full while it had to
    /// keep reading (a reply was awaited, or the helper had gone): the queue
    /// bound (`CaptureOptions.queueCapacity`) holds in every state.
    public var droppedByClient: UInt64

    public init(received: UInt64, droppedByKernel: UInt64, droppedByInterface: UInt64, delivered: UInt64, sentByHelper: UInt64,
                droppedByClient: UInt64 = 0) {
        self.received = received
        self.droppedByKernel = droppedByKernel
        self.droppedByInterface = droppedByInterface
        self.delivered = delivered
        self.sentByHelper = sentByHelper
        self.droppedByClient = droppedByClient
    }
}
