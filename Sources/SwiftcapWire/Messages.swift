/// The payloads of each frame type. Field order here is wire order.

/// First frame the helper sends, before it reads anything.
public struct Hello: Equatable, Sendable {
    public var protocolVersion: UInt16
    /// `pcap_lib_version()` of the helper, e.g. "libpcap version 1.10.3 (with TPACKET_V3)".
    public var libpcapVersion: String
    /// `Wire.softwareVersion` of the helper (protocol 2 and later); empty when a
    /// hello of an older protocol version did not carry it.
    public var softwareVersion: String
    public init(protocolVersion: UInt16 = Wire.protocolVersion, libpcapVersion: String,
                softwareVersion: String = Wire.softwareVersion) {
        self.protocolVersion = protocolVersion
        self.libpcapVersion = libpcapVersion
        self.softwareVersion = softwareVersion
    }
}

public enum TimeoutMode: UInt8, Sendable {
    /// Deliver each packet as soon as it arrives (pcap_set_immediate_mode).
    case immediate = 0
    /// Buffer up to `timeoutMilliseconds` (pcap_set_timeout).
    case milliseconds = 1
    /// Deliver only when the kernel buffer block fills.
    case never = 2
}

public enum WireDirection: UInt8, Sendable {
    case inOut = 0, `in` = 1, out = 2
}

public enum WireTimestampPrecision: UInt8, Sendable {
    case microseconds = 0, nanoseconds = 1
}

/// A BPF filter expression and how to compile it (pcap_compile arguments).
public struct FilterSpec: Equatable, Sendable {
    public var expression: String
    public var optimize: Bool
    /// IPv4 netmask in host order, or 0xffffffff for PCAP_NETMASK_UNKNOWN.
    public var netmask: UInt32
    public init(expression: String, optimize: Bool = true, netmask: UInt32 = 0xFFFF_FFFF) {
        self.expression = expression
        self.optimize = optimize
        self.netmask = netmask
    }
}

/// `open`: open and activate a live capture.
public struct OpenRequest: Equatable, Sendable {
    public var device: String
    public var snapshotLength: UInt32
    public var promiscuous: Bool
    public var timeoutMode: TimeoutMode
    public var timeoutMilliseconds: UInt32
    /// Kernel buffer size in bytes; 0 keeps libpcap's default.
    public var bufferSize: UInt32
    public var monitorMode: Bool
    public var direction: WireDirection
    public var timestampPrecision: WireTimestampPrecision
    /// A link type by libpcap's name (pcap_datalink_name_to_val, then
    /// pcap_set_datalink, as tcpdump -y); empty keeps the interface's default.
    public var linkTypeName: String
    /// A time stamp type by libpcap's name (pcap_tstamp_type_name_to_val, then
    /// pcap_set_tstamp_type, as tcpdump -j); empty keeps the default.
    public var timestampTypeName: String
    /// Empty expression: no filter.
    public var filter: FilterSpec

    public init(device: String, snapshotLength: UInt32 = 262_144, promiscuous: Bool = true,
                timeoutMode: TimeoutMode = .milliseconds, timeoutMilliseconds: UInt32 = 100,
                bufferSize: UInt32 = 0, monitorMode: Bool = false, direction: WireDirection = .inOut,
                timestampPrecision: WireTimestampPrecision = .nanoseconds, linkTypeName: String = "",
                timestampTypeName: String = "", filter: FilterSpec = FilterSpec(expression: "")) {
        self.linkTypeName = linkTypeName
        self.timestampTypeName = timestampTypeName
        self.device = device
        self.snapshotLength = snapshotLength
        self.promiscuous = promiscuous
        self.timeoutMode = timeoutMode
        self.timeoutMilliseconds = timeoutMilliseconds
        self.bufferSize = bufferSize
        self.monitorMode = monitorMode
        self.direction = direction
        self.timestampPrecision = timestampPrecision
        self.filter = filter
    }
}

/// `compileFilter`: compile without a device (pcap_open_dead + pcap_compile).
/// `compileFilter`: compile a filter for packets of a capture file, as libpcap
/// compiles it when it reads that file (savefile semantics: on LINKTYPE_NULL it
/// tests every BSD address family value, in the file's byte order).
public struct CompileRequest: Equatable, Sendable {
    /// The file's LINKTYPE_ value (libpcap maps it to its DLT_ value).
    public var linkType: UInt32
    public var snapshotLength: UInt32
    /// The file was written by a host of the other byte order.
    public var byteSwapped: Bool
    public var filter: FilterSpec
    public init(linkType: UInt32, snapshotLength: UInt32, byteSwapped: Bool = false, filter: FilterSpec) {
        self.linkType = linkType
        self.snapshotLength = snapshotLength
        self.byteSwapped = byteSwapped
        self.filter = filter
    }
}

/// `ready`: the capture is active (and the helper holds no capability any more).
public struct Ready: Equatable, Sendable {
    /// pcap_datalink() of the open handle (a DLT_ number).
    public var linkType: UInt32
    /// pcap_snapshot() of the open handle.
    public var snapshotLength: UInt32
    public var timestampPrecision: WireTimestampPrecision
    /// pcap_activate() warning text, empty when there was none.
    public var warning: String
    public init(linkType: UInt32, snapshotLength: UInt32, timestampPrecision: WireTimestampPrecision, warning: String = "") {
        self.linkType = linkType
        self.snapshotLength = snapshotLength
        self.timestampPrecision = timestampPrecision
        self.warning = warning
    }
}

/// The fixed fields of a `packet` frame; the captured bytes follow them.
public struct PacketHeader: Equatable, Sendable {
    public var seconds: Int64
    /// Always < 1_000_000_000; microsecond captures are scaled up by the helper.
    public var nanoseconds: UInt32
    public var captureLength: UInt32
    public var wireLength: UInt32
    public init(seconds: Int64, nanoseconds: UInt32, captureLength: UInt32, wireLength: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
        self.captureLength = captureLength
        self.wireLength = wireLength
    }
}

/// `statistics` (pcap_stats plus the helper's own count).
public struct WireStatistics: Equatable, Sendable {
    public var received: UInt64
    public var droppedByKernel: UInt64
    public var droppedByInterface: UInt64
    /// Packet frames the helper has written to the client.
    public var sentByHelper: UInt64
    public init(received: UInt64, droppedByKernel: UInt64, droppedByInterface: UInt64, sentByHelper: UInt64) {
        self.received = received
        self.droppedByKernel = droppedByKernel
        self.droppedByInterface = droppedByInterface
        self.sentByHelper = sentByHelper
    }
}

/// One address of a device (pcap_addr). Empty arrays mean "absent".
/// Addresses are raw: 4 bytes for IPv4, 16 for IPv6, the sockaddr_ll address for packet.
public struct WireAddress: Equatable, Sendable {
    /// AF_INET, AF_INET6, AF_PACKET, ...
    public var family: UInt16
    public var address: [UInt8]
    public var netmask: [UInt8]
    public var broadcast: [UInt8]
    public var destination: [UInt8]
    public init(family: UInt16, address: [UInt8], netmask: [UInt8] = [], broadcast: [UInt8] = [], destination: [UInt8] = []) {
        self.family = family
        self.address = address
        self.netmask = netmask
        self.broadcast = broadcast
        self.destination = destination
    }
}

/// One entry of pcap_findalldevs().
public struct WireDevice: Equatable, Sendable {
    public var name: String
    public var description: String
    /// PCAP_IF_* flags.
    public var flags: UInt32
    public var addresses: [WireAddress]
    public init(name: String, description: String, flags: UInt32, addresses: [WireAddress]) {
        self.name = name
        self.description = description
        self.flags = flags
        self.addresses = addresses
    }
}

/// One classic BPF instruction (struct bpf_insn).
public struct WireInstruction: Equatable, Sendable {
    public var code: UInt16
    public var jt: UInt8
    public var jf: UInt8
    public var k: UInt32
    public init(code: UInt16, jt: UInt8, jf: UInt8, k: UInt32) {
        self.code = code
        self.jt = jt
        self.jf = jf
        self.k = k
    }
}

/// `program`: the result of `compileFilter`.
public struct WireProgram: Equatable, Sendable {
    public var linkType: UInt32
    public var instructions: [WireInstruction]
    public init(linkType: UInt32, instructions: [WireInstruction]) {
        self.linkType = linkType
        self.instructions = instructions
    }
    /// BPF_MAXINSNS: the kernel and libpcap refuse longer programs.
    public static let maxInstructions = 4096
}

/// Error codes carried by an `error` frame. Unknown codes decode as `.internal`
/// so that a newer helper cannot make an older client fail to decode.
public enum WireErrorCode: UInt16, Sendable {
    case noSuchDevice = 1
    case permissionDenied = 2
    case promiscuousPermissionDenied = 3
    case filterInvalid = 4
    case injectFailed = 5
    case activateFailed = 6
    case protocolViolation = 7
    case unsupported = 8
    case captureFailed = 9
    case `internal` = 10
    case badRequest = 11
    case interfaceNotUp = 12
    case timestampPrecisionNotSupported = 13
    /// Compiling a filter exceeded the helper's CPU or memory budget (`Limits`).
    case filterTooComplex = 14
}

/// `error`: a request failed, or (when `fatal`) the session is over.
public struct WireError: Equatable, Sendable {
    public var code: WireErrorCode
    public var fatal: Bool
    public var message: String
    public init(code: WireErrorCode, fatal: Bool, message: String) {
        self.code = code
        self.fatal = fatal
        self.message = message
    }
}

/// One choice an interface offers: a link type (DLT_ value) or a time stamp
/// type, with libpcap's name and description ("EN10MB", "Ethernet").
public struct WireChoice: Equatable, Sendable {
    public var value: Int32
    public var name: String
    public var description: String
    public init(value: Int32, name: String, description: String) {
        self.value = value
        self.name = name
        self.description = description
    }
}

/// `deviceDetails`: pcap_list_datalinks of the activated interface and
/// pcap_list_tstamp_types, in libpcap's order.
public struct WireDeviceDetails: Equatable, Sendable {
    public var linkTypes: [WireChoice]
    public var timestampTypes: [WireChoice]
    public init(linkTypes: [WireChoice], timestampTypes: [WireChoice]) {
        self.linkTypes = linkTypes
        self.timestampTypes = timestampTypes
    }
}

/// `injectedBatch`: what an `injectBatch` did. Every packet is tried; a failed
/// one is counted and the first failure's pcap message kept.
public struct WireInjectResult: Equatable, Sendable {
    public var sent: UInt32
    public var bytes: UInt64
    public var failed: UInt32
    public var firstError: String
    public init(sent: UInt32, bytes: UInt64, failed: UInt32, firstError: String) {
        self.sent = sent
        self.bytes = bytes
        self.failed = failed
        self.firstError = firstError
    }
}

/// Every frame of the protocol, decoded. Both sides use this one type, so the
/// helper and the client cannot disagree on a layout.
public enum WireMessage: Equatable, Sendable {
    case hello(Hello)
    case open(OpenRequest)
    case inject([UInt8])
    case setFilter(FilterSpec)
    case statisticsRequest
    case close
    case listDevices
    case compileFilter(CompileRequest)
    case ready(Ready)
    case packet(PacketHeader, [UInt8])
    case injected(UInt32)
    case filterSet
    case statistics(WireStatistics)
    case devices([WireDevice])
    case program(WireProgram)
    /// `describeDevice`: what one interface offers (for -L and -J).
    case describeDevice(String)
    case deviceDetails(WireDeviceDetails)
    /// `injectBatch`: several packets sent in order with one request (tcpreplay --topspeed).
    case injectBatch(WireInjectBatch)
    case injectedBatch(WireInjectResult)
    case end
    case error(WireError)

    public var frameType: FrameType {
        switch self {
        case .hello: .hello
        case .open: .open
        case .inject: .inject
        case .setFilter: .setFilter
        case .statisticsRequest: .statisticsRequest
        case .close: .close
        case .listDevices: .listDevices
        case .compileFilter: .compileFilter
        case .ready: .ready
        case .packet: .packet
        case .injected: .injected
        case .filterSet: .filterSet
        case .statistics: .statistics
        case .devices: .devices
        case .program: .program
        case .describeDevice: .describeDevice
        case .deviceDetails: .deviceDetails
        case .injectBatch: .injectBatch
        case .injectedBatch: .injectedBatch
        case .end: .end
        case .error: .error
        }
    }
}
