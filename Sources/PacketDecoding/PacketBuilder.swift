/// Builds frames: Ethernet (with 802.1Q tags) or no link header, then IPv4, IPv6
/// or ARP, then UDP, TCP, ICMP or ICMPv6 and a payload. Lengths, EtherTypes,
/// protocol numbers and checksums (IPv4 header; TCP, UDP and ICMPv6 with the
/// pseudo-header; ICMP) are filled in. The result is ready for `LiveCapture.inject`.
///
///     let frame = PacketBuilder(
///         link: .ethernet(source: MACAddress("02:00:00:00:00:01")!, destination: .broadcast),
///         network: .ipv4(IPv4Fields(source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(10, 0, 0, 2))),
///         transport: .udp(sourcePort: 1000, destinationPort: 2000),
///         payload: Array("hello".utf8)).build()
public struct PacketBuilder: Sendable {
    public enum Link: Sendable {
        /// No link header (LINKTYPE_RAW): the bytes start with the IP header.
        case none
        /// Ethernet II; each VLAN id adds an 802.1Q tag (priority 0), outermost first.
        case ethernet(source: MACAddress, destination: MACAddress, vlanIDs: [UInt16] = [])
    }

    public enum Network: Sendable {
        case ipv4(IPv4Fields)
        case ipv6(IPv6Fields)
        /// An Ethernet/IPv4 ARP packet (`transport` and `payload` are ignored).
        case arp(operation: UInt16, senderMAC: MACAddress, senderIP: IPv4Address, targetMAC: MACAddress, targetIP: IPv4Address)
    }

    public enum Transport: Sendable {
        case udp(sourcePort: UInt16, destinationPort: UInt16)
        case tcp(TCPFields)
        /// ICMP: type, code and the second 32-bit word (echo: identifier << 16 | sequence).
        case icmp(type: UInt8, code: UInt8, rest: UInt32)
        /// ICMPv6: type, code and the second 32-bit word.
        case icmpv6(type: UInt8, code: UInt8, rest: UInt32)

        public static func icmpEcho(request: Bool, identifier: UInt16, sequence: UInt16) -> Transport {
            .icmp(type: request ? 8 : 0, code: 0, rest: UInt32(identifier) << 16 | UInt32(sequence))
        }

        public static func icmpv6Echo(request: Bool, identifier: UInt16, sequence: UInt16) -> Transport {
            .icmpv6(type: request ? 128 : 129, code: 0, rest: UInt32(identifier) << 16 | UInt32(sequence))
        }
    }

    public var link: Link
    public var network: Network
    /// nil: the payload follows the IP header directly (with `IPv4Fields.protocolNumber` / `IPv6Fields.nextHeader`).
    public var transport: Transport?
    public var payload: [UInt8]

    public init(link: Link, network: Network, transport: Transport? = nil, payload: [UInt8] = []) {
        self.link = link
        self.network = network
        self.transport = transport
        self.payload = payload
    }

    /// The frame's bytes.
    public func build() -> [UInt8] {
        var frame: [UInt8] = []
        let etherType: UInt16
        switch network {
        case .ipv4: etherType = EtherType.ipv4
        case .ipv6: etherType = EtherType.ipv6
        case .arp: etherType = EtherType.arp
        }
        if case let .ethernet(source, destination, vlanIDs) = link {
            frame += destination.bytes + source.bytes
            for id in vlanIDs { frame.appendBigEndian(EtherType.vlan); frame.appendBigEndian(id & 0x0FFF) }
            frame.appendBigEndian(etherType)
        }
        switch network {
        case let .arp(operation, senderMAC, senderIP, targetMAC, targetIP):
            frame.appendBigEndian(UInt16(1))
            frame.appendBigEndian(EtherType.ipv4)
            frame += [6, 4]
            frame.appendBigEndian(operation)
            frame += senderMAC.bytes + senderIP.bytes + targetMAC.bytes + targetIP.bytes
        case let .ipv4(fields):
            let segment = transportBytes(pseudoHeader: { protocolNumber, length, sum in
                sum.add(fields.source.rawValue)
                sum.add(fields.destination.rawValue)
                sum.add(UInt16(protocolNumber))
                sum.add(UInt16(truncatingIfNeeded: length))
            }, defaultProtocol: fields.protocolNumber)
            frame += fields.header(protocolNumber: segment.protocolNumber, payloadLength: segment.bytes.count)
            frame += segment.bytes
        case let .ipv6(fields):
            let segment = transportBytes(pseudoHeader: { protocolNumber, length, sum in
                sum.add(fields.source.bytes)
                sum.add(fields.destination.bytes)
                sum.add(UInt32(truncatingIfNeeded: length))
                sum.add(UInt32(protocolNumber))
            }, defaultProtocol: fields.nextHeader)
            frame += fields.header(nextHeader: segment.protocolNumber, payloadLength: segment.bytes.count)
            frame += segment.bytes
        }
        return frame
    }

    /// The transport header and payload with its checksum filled in.
    private func transportBytes(pseudoHeader: (UInt8, Int, inout InternetChecksum) -> Void,
                                defaultProtocol: UInt8) -> (protocolNumber: UInt8, bytes: [UInt8]) {
        guard let transport else { return (defaultProtocol, payload) }
        var bytes: [UInt8] = []
        let protocolNumber: UInt8
        let checksumOffset: Int
        var usesPseudoHeader = true
        switch transport {
        case let .udp(sourcePort, destinationPort):
            protocolNumber = IPProtocol.udp
            bytes.appendBigEndian(sourcePort)
            bytes.appendBigEndian(destinationPort)
            bytes.appendBigEndian(UInt16(truncatingIfNeeded: 8 + payload.count))
            bytes.appendBigEndian(UInt16(0))
            checksumOffset = 6
        case let .tcp(fields):
            protocolNumber = IPProtocol.tcp
            bytes = fields.header()
            checksumOffset = 16
        case let .icmp(type, code, rest), let .icmpv6(type, code, rest):
            if case .icmp = transport { protocolNumber = IPProtocol.icmp; usesPseudoHeader = false } else { protocolNumber = IPProtocol.icmpv6 }
            bytes = [type, code, 0, 0]
            bytes.appendBigEndian(rest)
            checksumOffset = 2
        }
        bytes += payload
        var sum = InternetChecksum()
        if usesPseudoHeader { pseudoHeader(protocolNumber, bytes.count, &sum) }
        sum.add(bytes)
        var checksum = sum.checksum
        if protocolNumber == IPProtocol.udp && checksum == 0 { checksum = 0xFFFF }  // 0 would mean "no checksum"
        bytes[checksumOffset] = UInt8(checksum >> 8)
        bytes[checksumOffset + 1] = UInt8(checksum & 0xFF)
        return (protocolNumber, bytes)
    }
}

public struct IPv4Fields: Sendable {
    public var source: IPv4Address
    public var destination: IPv4Address
    public var timeToLive: UInt8 = 64
    public var identification: UInt16 = 0
    public var dontFragment = true
    public var typeOfService: UInt8 = 0
    /// Used only when the builder has no transport.
    public var protocolNumber: UInt8 = 255

    public init(source: IPv4Address, destination: IPv4Address, timeToLive: UInt8 = 64, identification: UInt16 = 0,
                dontFragment: Bool = true, typeOfService: UInt8 = 0, protocolNumber: UInt8 = 255) {
        self.source = source
        self.destination = destination
        self.timeToLive = timeToLive
        self.identification = identification
        self.dontFragment = dontFragment
        self.typeOfService = typeOfService
        self.protocolNumber = protocolNumber
    }

    func header(protocolNumber: UInt8, payloadLength: Int) -> [UInt8] {
        var h: [UInt8] = [0x45, typeOfService]
        h.appendBigEndian(UInt16(truncatingIfNeeded: 20 + payloadLength))
        h.appendBigEndian(identification)
        h.appendBigEndian(UInt16(dontFragment ? 0x4000 : 0))
        h += [timeToLive, protocolNumber, 0, 0]
        h += source.bytes + destination.bytes
        var sum = InternetChecksum()
        sum.add(h)
        h[10] = UInt8(sum.checksum >> 8)
        h[11] = UInt8(sum.checksum & 0xFF)
        return h
    }
}

public struct IPv6Fields: Sendable {
    public var source: IPv6Address
    public var destination: IPv6Address
    public var hopLimit: UInt8 = 64
    public var trafficClass: UInt8 = 0
    public var flowLabel: UInt32 = 0
    /// Used only when the builder has no transport.
    public var nextHeader: UInt8 = IPProtocol.noNextHeader

    public init(source: IPv6Address, destination: IPv6Address, hopLimit: UInt8 = 64, trafficClass: UInt8 = 0,
                flowLabel: UInt32 = 0, nextHeader: UInt8 = IPProtocol.noNextHeader) {
        self.source = source
        self.destination = destination
        self.hopLimit = hopLimit
        self.trafficClass = trafficClass
        self.flowLabel = flowLabel
        self.nextHeader = nextHeader
    }

    func header(nextHeader: UInt8, payloadLength: Int) -> [UInt8] {
        var h: [UInt8] = []
        h.appendBigEndian(UInt32(6) << 28 | UInt32(trafficClass) << 20 | (flowLabel & 0xF_FFFF))
        h.appendBigEndian(UInt16(truncatingIfNeeded: payloadLength))
        h += [nextHeader, hopLimit]
        return h + source.bytes + destination.bytes
    }
}

public struct TCPFields: Sendable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequenceNumber: UInt32 = 0
    public var acknowledgmentNumber: UInt32 = 0
    public var flags: TCPFlags = .syn
    public var window: UInt16 = 65535
    public var urgentPointer: UInt16 = 0
    /// Encoded in order, then padded with End of Option List to a multiple of 4 bytes.
    /// `.other` and `.malformed` are not encodable and are left out.
    public var options: [TCPOption] = []

    public init(sourcePort: UInt16, destinationPort: UInt16, sequenceNumber: UInt32 = 0, acknowledgmentNumber: UInt32 = 0,
                flags: TCPFlags = .syn, window: UInt16 = 65535, urgentPointer: UInt16 = 0, options: [TCPOption] = []) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.window = window
        self.urgentPointer = urgentPointer
        self.options = options
    }

    func header() -> [UInt8] {
        var options: [UInt8] = []
        for option in self.options {
            switch option {
            case .endOfOptionList: options.append(0)
            case .noOperation: options.append(1)
            case let .maximumSegmentSize(v): options += [2, 4]; options.appendBigEndian(v)
            case let .windowScale(v): options += [3, 3, v]
            case .sackPermitted: options += [4, 2]
            case let .selectiveAcknowledgment(blocks):
                options += [5, UInt8(2 + 8 * blocks.count)]
                for i in 0..<blocks.count { options.appendBigEndian(blocks[i].left); options.appendBigEndian(blocks[i].right) }
            case let .timestamps(value, echo): options += [8, 10]; options.appendBigEndian(value); options.appendBigEndian(echo)
            case .other, .malformed: break
            }
        }
        while options.count % 4 != 0 { options.append(0) }
        let length = 20 + min(options.count, 40)
        var h: [UInt8] = []
        h.appendBigEndian(sourcePort)
        h.appendBigEndian(destinationPort)
        h.appendBigEndian(sequenceNumber)
        h.appendBigEndian(acknowledgmentNumber)
        h.appendBigEndian(UInt16(length / 4) << 12 | (flags.rawValue & 0x0FFF))
        h.appendBigEndian(window)
        h.appendBigEndian(UInt16(0))
        h.appendBigEndian(urgentPointer)
        return h + options.prefix(40)
    }
}

extension TCPSACKBlocks {
    /// Blocks from (left, right) pairs; at most four are kept.
    public init(_ blocks: [(left: UInt32, right: UInt32)]) {
        self.init()
        for block in blocks { append(left: block.left, right: block.right) }
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }

    mutating func appendBigEndian(_ value: UInt32) {
        appendBigEndian(UInt16(value >> 16))
        appendBigEndian(UInt16(value & 0xFFFF))
    }
}
