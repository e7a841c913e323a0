/// The payloads of each frame type. Field order here is wire order.

/// First frame the helper sends, before it reads anything.
package struct Hello: Equatable, Sendable {
    package var protocolVersion: UInt16
    /// `pcap_lib_version()` of the helper, e.g. "libpcap version 1.10.3 (with TPACKET_V3)".
    package var libpcapVersion: String
    /// `Wire.softwareVersion` of the helper (protocol 2 and later); empty when a
    /// hello of an older protocol version did not carry it.
    package var softwareVersion: String
    package init(protocolVersion: UInt16 = Wire.protocolVersion, libpcapVersion: String,
                softwareVersion: String = Wire.softwareVersion) {
        self.protocolVersion = protocolVersion
        self.libpcapVersion = libpcapVersion
        self.softwareVersion = softwareVersion
    }
}

package enum TimeoutMode: UInt8, Sendable {
    /// Deliver each packet as soon as it arrives (pcap_set_immediate_mode).
    case immediate = 0
    /// Buffer up to `timeoutMilliseconds` (pcap_set_timeout).
    case milliseconds = 1
    /// Deliver only when the kernel buffer block fills.
    case never = 2
}

package enum WireDirection: UInt8, Sendable {
    case inOut = 0, `in` = 1, out = 2
}

package enum WireTimestampPrecision: UInt8, Sendable {
    case microseconds = 0, nanoseconds = 1
}

/// A BPF filter expression and how to compile it (pcap_compile arguments).
package struct FilterSpec: Equatable, Sendable {
    package var expression: String
    package var optimize: Bool
    /// IPv4 netmask in host order, or 0xffffffff for PCAP_NETMASK_UNKNOWN.
    package var netmask: UInt32
    package init(expression: String, optimize: Bool = true, netmask: UInt32 = 0xFFFF_FFFF) {
        self.expression = expression
        self.optimize = optimize
        self.netmask = netmask
    }
}

/// `open`: open and activate a live capture.
package struct OpenRequest: Equatable, Sendable {
    package var device: String
    package var snapshotLength: UInt32
    package var promiscuous: Bool
    package var timeoutMode: TimeoutMode
    package var timeoutMilliseconds: UInt32
    /// Kernel buffer size in bytes; 0 keeps libpcap's default.
    package var bufferSize: UInt32
    package var monitorMode: Bool
    package var direction: WireDirection
    package var timestampPrecision: WireTimestampPrecision
    /// A link type by libpcap's name (pcap_datalink_name_to_val, then
    /// pcap_set_datalink, as tcpdump -y); empty keeps the interface's default.
    package var linkTypeName: String
    /// A time stamp type by libpcap's name (pcap_tstamp_type_name_to_val, then
    /// pcap_set_tstamp_type, as tcpdump -j); empty keeps the default.
    package var timestampTypeName: String
    /// Empty expression: no filter.
    package var filter: FilterSpec

    package init(device: String, snapshotLength: UInt32 = 262_144, promiscuous: Bool = true,
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
package struct CompileRequest: Equatable, Sendable {
    /// The file's LINKTYPE_ value (libpcap maps it to its DLT_ value).
    package var linkType: UInt32
    package var snapshotLength: UInt32
    /// The file was written by a host of the other byte order.
    package var byteSwapped: Bool
    package var filter: FilterSpec
    package init(linkType: UInt32, snapshotLength: UInt32, byteSwapped: Bool = false, filter: FilterSpec) {
        self.linkType = linkType
        self.snapshotLength = snapshotLength
        self.byteSwapped = byteSwapped
        self.filter = filter
    }
}

/// `ready`: the capture is active (and the helper holds no capability any more).
package struct Ready: Equatable, Sendable {
    /// pcap_datalink() of the open handle (a DLT_ number).
    package var linkType: UInt32
    /// pcap_snapshot() of the open handle.
    package var snapshotLength: UInt32
    package var timestampPrecision: WireTimestampPrecision
    /// pcap_activate() warning text, empty when there was none.
    package var warning: String
    package init(linkType: UInt32, snapshotLength: UInt32, timestampPrecision: WireTimestampPrecision, warning: String = "") {
        self.linkType = linkType
        self.snapshotLength = snapshotLength
        self.timestampPrecision = timestampPrecision
        self.warning = warning
    }
}

/// The fixed fields of a `packet` frame; the captured bytes follow them.
package struct PacketHeader: Equatable, Sendable {
    package var seconds: Int64
    /// Always < 1_000_000_000; microsecond captures are scaled up by the helper.
    package var nanoseconds: UInt32
    package var captureLength: UInt32
    package var wireLength: UInt32
    package init(seconds: Int64, nanoseconds: UInt32, captureLength: UInt32, wireLength: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
        self.captureLength = captureLength
        self.wireLength = wireLength
    }
}

/// `statistics` (pcap_stats plus the helper's own count).
package struct WireStatistics: Equatable, Sendable {
    package var received: UInt64
    package var droppedByKernel: UInt64
    package var droppedByInterface: UInt64
    /// Packet frames the helper has written to the client.
    package var sentByHelper: UInt64
    package init(received: UInt64, droppedByKernel: UInt64, droppedByInterface: UInt64, sentByHelper: UInt64) {
        self.received = received
        self.droppedByKernel = droppedByKernel
        self.droppedByInterface = droppedByInterface
        self.sentByHelper = sentByHelper
    }
}

/// One address of a device (pcap_addr). Empty arrays mean "absent".
/// Addresses are raw: 4 bytes for IPv4, 16 for IPv6, the sockaddr_ll address for packet.
package struct WireAddress: Equatable, Sendable {
    /// AF_INET, AF_INET6, AF_PACKET, ...
    package var family: UInt16
    package var address: [UInt8]
    package var netmask: [UInt8]
    package var broadcast: [UInt8]
    package var destination: [UInt8]
    package init(family: UInt16, address: [UInt8], netmask: [UInt8] = [], broadcast: [UInt8] = [], destination: [UInt8] = []) {
        self.family = family
        self.address = address
        self.netmask = netmask
        self.broadcast = broadcast
        self.destination = destination
    }
}

/// One entry of pcap_findalldevs().
package struct WireDevice: Equatable, Sendable {
    package var name: String
    package var description: String
    /// PCAP_IF_* flags.
    package var flags: UInt32
    package var addresses: [WireAddress]
    package init(name: String, description: String, flags: UInt32, addresses: [WireAddress]) {
        self.name = name
        self.description = description
        self.flags = flags
        self.addresses = addresses
    }
}

/// One classic BPF instruction (struct bpf_insn).
package struct WireInstruction: Equatable, Sendable {
    package var code: UInt16
    package var jt: UInt8
    package var jf: UInt8
    package var k: UInt32
    package init(code: UInt16, jt: UInt8, jf: UInt8, k: UInt32) {
        self.code = code
        self.jt = jt
        self.jf = jf
        self.k = k
    }
}

/// `program`: the result of `compileFilter`.
package struct WireProgram: Equatable, Sendable {
    package var linkType: UInt32
    package var instructions: [WireInstruction]
    package init(linkType: UInt32, instructions: [WireInstruction]) {
        self.linkType = linkType
        self.instructions = instructions
    }
    /// BPF_MAXINSNS: the kernel and libpcap refuse longer programs.
    package static let maxInstructions = 4096
}

/// Error codes carried by an `error` frame. Unknown codes decode as `.internal`
/// so that a newer helper cannot make an older client fail to decode.
package enum WireErrorCode: UInt16, Sendable {
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
package struct WireError: Equatable, Sendable {
    package var code: WireErrorCode
    package var fatal: Bool
    package var message: String
    package init(code: WireErrorCode, fatal: Bool, message: String) {
        self.code = code
        self.fatal = fatal
        self.message = message
    }
}

/// One choice an interface offers: a link type (DLT_ value) or a time stamp
/// type, with libpcap's name and description ("EN10MB", "Ethernet").
package struct WireChoice: Equatable, Sendable {
    package var value: Int32
    package var name: String
    package var description: String
    package init(value: Int32, name: String, description: String) {
        self.value = value
        self.name = name
        self.description = description
    }
}

/// `deviceDetails`: pcap_list_datalinks of the activated interface and
/// pcap_list_tstamp_types, in libpcap's order.
package struct WireDeviceDetails: Equatable, Sendable {
    package var linkTypes: [WireChoice]
    package var timestampTypes: [WireChoice]
    package init(linkTypes: [WireChoice], timestampTypes: [WireChoice]) {
        self.linkTypes = linkTypes
        self.timestampTypes = timestampTypes
    }
}

/// `injectedBatch`: what an `injectBatch` did. Every packet is tried; a failed
/// one is counted and the first failure's pcap message kept.
package struct WireInjectResult: Equatable, Sendable {
    package var sent: UInt32
    package var bytes: UInt64
    package var failed: UInt32
    package var firstError: String
    package init(sent: UInt32, bytes: UInt64, failed: UInt32, firstError: String) {
        self.sent = sent
        self.bytes = bytes
        self.failed = failed
        self.firstError = firstError
    }
}

/// Every frame of the protocol, decoded. Both sides use this one type, so the
/// helper and the client cannot disagree on a layout.
package enum WireMessage: Equatable, Sendable {
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

    package var frameType: FrameType {
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
