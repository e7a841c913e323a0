/// An ICMP (v4) message; `bytes` run to the end of the message.
public struct ICMPHeader: ~Escapable {
    public let bytes: RawSpan

    @_lifetime(copy bytes)
    init(_ bytes: RawSpan) { self.bytes = bytes }

    public var type: UInt8 { bytes.u8(0) }
    public var code: UInt8 { bytes.u8(1) }
    public var checksum: UInt16 { bytes.u16(2) }
    public var isEcho: Bool { [0, 8, 13, 14, 15, 16].contains(type) }
    /// Echo (and timestamp, information) identifier, when captured.
    public var identifier: UInt16? { isEcho && bytes.byteCount >= 8 ? bytes.u16(4) : nil }
    public var sequenceNumber: UInt16? { isEcho && bytes.byteCount >= 8 ? bytes.u16(6) : nil }
    /// Whether the message carries the start of the packet that caused it
    /// (destination unreachable, source quench, redirect, time exceeded, parameter problem).
    public var isError: Bool { [3, 4, 5, 11, 12].contains(type) }

    /// The invoking packet inside an error message, decoded as bare IP.
    public var embeddedPacket: DecodedPacket? {
        @_lifetime(copy self) get { isError ? DecodedPacket(embeddedIn: bytes) : nil }
    }

    /// The redirect gateway (type 5).
    public var gateway: IPv4Address? { type == 5 && bytes.byteCount >= 8 ? bytes.ipv4(4) : nil }
    /// Next-hop MTU of "fragmentation needed" (type 3 code 4).
    public var nextHopMTU: UInt16? { type == 3 && code == 4 && bytes.byteCount >= 8 ? bytes.u16(6) : nil }

    /// The type's name as tcpdump prints it (`echo request`, ...).
    public static func typeName(_ type: UInt8) -> String? {
        switch type {
        case 0: return "echo reply"
        case 3: return "destination unreachable"
        case 4: return "source quench"
        case 5: return "redirect"
        case 8: return "echo request"
        case 9: return "router advertisement"
        case 10: return "router solicitation"
        case 11: return "time exceeded"
        case 12: return "parameter problem"
        case 13: return "time stamp request"
        case 14: return "time stamp reply"
        case 15: return "information request"
        case 16: return "information reply"
        case 17: return "address mask request"
        case 18: return "address mask reply"
        default: return nil
        }
    }
}

/// An ICMPv6 message; `bytes` run to the end of the message.
public struct ICMPv6Header: ~Escapable {
    public let bytes: RawSpan

    @_lifetime(copy bytes)
    init(_ bytes: RawSpan) { self.bytes = bytes }

    public var type: UInt8 { bytes.u8(0) }
    public var code: UInt8 { bytes.u8(1) }
    public var checksum: UInt16 { bytes.u16(2) }
    public var isEcho: Bool { type == 128 || type == 129 }
    public var identifier: UInt16? { isEcho && bytes.byteCount >= 8 ? bytes.u16(4) : nil }
    public var sequenceNumber: UInt16? { isEcho && bytes.byteCount >= 8 ? bytes.u16(6) : nil }
    /// Destination unreachable, packet too big, time exceeded, parameter problem.
    public var isError: Bool { type >= 1 && type <= 4 }
    /// Packet too big: the MTU.
    public var mtu: UInt32? { type == 2 && bytes.byteCount >= 8 ? bytes.u32(4) : nil }

    /// Neighbor solicitation/advertisement target, redirect target.
    public var targetAddress: IPv6Address? {
        (type == 135 || type == 136 || type == 137) && bytes.byteCount >= 24 ? bytes.ipv6(8) : nil
    }
    /// Neighbor advertisement flags: 0x80 router, 0x40 solicited, 0x20 override.
    public var neighborAdvertisementFlags: UInt8? { type == 136 && bytes.byteCount >= 5 ? bytes.u8(4) : nil }

    /// The invoking packet inside an error message, decoded as bare IP.
    public var embeddedPacket: DecodedPacket? {
        @_lifetime(copy self) get { isError ? DecodedPacket(embeddedIn: bytes) : nil }
    }

    /// Neighbor-discovery options after the fixed part: calls `body` with each option's type,
    /// offset in the message and length in bytes; stops at a zero or overlong length.
    public func forEachNeighborDiscoveryOption(_ body: (_ type: UInt8, _ offset: Int, _ length: Int) -> Void) {
        let start: Int
        switch type {
        case 133: start = 8
        case 134: start = 16
        case 135, 136: start = 24
        case 137: start = 40
        default: return
        }
        var offset = start
        while offset + 2 <= bytes.byteCount {
            let length = Int(bytes.u8(offset + 1)) * 8
            guard length > 0, offset + length <= bytes.byteCount else { return }
            body(bytes.u8(offset), offset, length)
            offset += length
        }
    }

    /// A link-layer address option (source 1 or target 2) holding a MAC.
    public func linkLayerAddressOption(_ optionType: UInt8) -> MACAddress? {
        var found: MACAddress?
        forEachNeighborDiscoveryOption { type, offset, length in
            if found == nil && type == optionType && length == 8 { found = bytes.mac(offset + 2) }
        }
        return found
    }

    public static func typeName(_ type: UInt8) -> String? {
        switch type {
        case 1: return "destination unreachable"
        case 2: return "packet too big"
        case 3: return "time exceeded in-transit"
        case 4: return "parameter problem"
        case 128: return "echo request"
        case 129: return "echo reply"
        case 130: return "multicast listener query"
        case 131: return "multicast listener report"
        case 132: return "multicast listener done"
        case 133: return "router solicitation"
        case 134: return "router advertisement"
        case 135: return "neighbor solicitation"
        case 136: return "neighbor advertisement"
        case 137: return "redirect"
        case 143: return "multicast listener report v2"
        default: return nil
        }
    }
}

extension DecodedPacket {
    /// The packet an ICMP or ICMPv6 error carries after its 8-byte header, as bare IP.
    @_lifetime(copy message)
    init?(embeddedIn message: RawSpan) {
        guard message.byteCount > 8 else { return nil }
        self.init(bytes: message.extracting(8..<message.byteCount), linkType: LinkTypeNumber.raw)
    }
}
