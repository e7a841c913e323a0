import SwiftcapWire

/// An IPv4 or IPv6 address, printed in dotted-quad or RFC 5952 form.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 bytes (IPv6), network order.
    public let bytes: [UInt8]

    /// nil unless `bytes` has 4 or 16 elements.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    public var isIPv4: Bool { bytes.count == 4 }
    public var isIPv6: Bool { bytes.count == 16 }

    public var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        var groups: [UInt16] = []
        for i in stride(from: 0, to: 16, by: 2) { groups.append(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])) }
        // IPv4-mapped ::ffff:a.b.c.d
        if groups[0 ..< 5].allSatisfy({ $0 == 0 }), groups[5] == 0xFFFF {
            return "::ffff:" + bytes[12...].map(String.init).joined(separator: ".")
        }
        // Longest run (length ≥ 2) of zero groups becomes "::" (RFC 5952 §4.2).
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0 ... 8 {
            if i < 8, groups[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength { bestStart = runStart; bestLength = i - runStart }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        func hex(_ range: Range<Int>) -> String { groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0 ..< 8) }
        return hex(0 ..< bestStart) + "::" + hex((bestStart + bestLength) ..< 8)
    }
}

/// One address of a network device (pcap_addr).
public struct DeviceAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address family (AF_INET 2, AF_INET6 10, AF_PACKET 17, ...).
    public var family: Int
    /// The interface address, for IPv4 and IPv6.
    public var address: IPAddress?
    public var netmask: IPAddress?
    public var broadcast: IPAddress?
    /// Peer address of a point-to-point link.
    public var destination: IPAddress?
    /// The hardware address, for AF_PACKET entries.
    public var linkLayerAddress: [UInt8]?

    public var description: String {
        if let linkLayerAddress {
            return "link " + linkLayerAddress.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined(separator: ":")
        }
        var s = address.map(\.description) ?? "family \(family)"
        if let netmask { s += " netmask \(netmask)" }
        if let broadcast { s += " broadcast \(broadcast)" }
        if let destination { s += " destination \(destination)" }
        return s
    }

    init(_ wire: WireAddress) {
        family = Int(wire.family)
        if wire.family == 17 {
            linkLayerAddress = wire.address
        } else {
            address = IPAddress(bytes: wire.address)
            netmask = IPAddress(bytes: wire.netmask)
            broadcast = IPAddress(bytes: wire.broadcast)
            destination = IPAddress(bytes: wire.destination)
        }
    }
}

/// A capture device, as pcap_findalldevs lists it.
public struct NetworkDevice: Hashable, Sendable {
    /// PCAP_IF_* flags.
    public struct Flags: OptionSet, Hashable, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let loopback = Flags(rawValue: 0x1)
        public static let up = Flags(rawValue: 0x2)
        public static let running = Flags(rawValue: 0x4)
        public static let wireless = Flags(rawValue: 0x8)
    }

    /// PCAP_IF_CONNECTION_STATUS.
    public enum ConnectionStatus: Hashable, Sendable {
        case unknown, connected, disconnected, notApplicable
    }

    public var name: String
    /// pcap's description, if it has one.
    public var description: String?
    public var flags: Flags
    public var addresses: [DeviceAddress]

    public var connectionStatus: ConnectionStatus {
        switch flags.rawValue & 0x30 {
        case 0x10: .connected
        case 0x20: .disconnected
        case 0x30: .notApplicable
        default: .unknown
        }
    }

    init(_ wire: WireDevice) {
        name = wire.name
        description = wire.description.isEmpty ? nil : wire.description
        flags = Flags(rawValue: wire.flags)
        addresses = wire.addresses.map(DeviceAddress.init)
    }

    /// Every capture device (pcap_findalldevs, run by the helper), in libpcap's
    /// order: up and running non-loopback devices first.
    /// - Parameter timeout: how long the helper may take to say hello and to
    ///   answer; past it the helper is killed and this throws `.timedOut`.
    ///   - transport: `.ssh(...)` lists the devices of another machine.
    public static func all(helperPath: String? = nil, timeout: Duration = .seconds(5),
                           transport: HelperTransport = .local) async throws(CaptureError) -> [NetworkDevice] {
        let nanoseconds = timeout.saturatingNanoseconds
        guard nanoseconds > 0 else { throw CaptureError(.invalidArgument, "timeout \(timeout) must be positive") }
        let session = try HelperSession.start(helperPath: helperPath, arguments: [], mode: .devices, interface: nil,
                                              deadlines: SessionDeadlines(reply: nanoseconds, open: nanoseconds), transport: transport)
        let reply = await session.request(.listDevices, .listDevices)
        await session.waitFinished()
        switch reply {
        case .success(.devices(let devices)):
            return devices.map(NetworkDevice.init)
        case .success(.error(let e)):
            throw CaptureError.fromHelper(e, session.context)
        case .success(let other):
            throw CaptureError(.protocolViolation, "the helper answered listDevices with \(other.frameType); the helper and the client must come from the same swiftcap version", helperPath: session.helperPath)
        case .failure(let error):
            throw error
        }
    }

    /// The device a capture without an interface name uses: the first of `all()`.
    /// - Throws: `.interfaceNotFound` when there is none.
    public static func defaultDevice(helperPath: String? = nil, timeout: Duration = .seconds(5),
                                     transport: HelperTransport = .local) async throws(CaptureError) -> NetworkDevice {
        let devices = try await all(helperPath: helperPath, timeout: timeout, transport: transport)
        guard let first = devices.first else {
            throw CaptureError(.interfaceNotFound, "pcap_findalldevs found no capture device; name an interface explicitly, or check that the helper has CAP_NET_RAW",
                               helperPath: helperPath)
        }
        return first
    }
}
