/// An Ethernet header: two addresses and a type (or, for 802.3, a length).
public struct EthernetHeader: ~Escapable {
    /// The 14 header bytes.
    public let bytes: RawSpan

    @_lifetime(copy bytes)
    init(_ bytes: RawSpan) { self.bytes = bytes }

    public var destination: MACAddress { bytes.mac(0) }
    public var source: MACAddress { bytes.mac(6) }
    /// EtherType (≥ 0x0600) or, for an 802.3 frame, the length (≤ 1500).
    public var typeOrLength: UInt16 { bytes.u16(12) }
}

/// An IEEE 802.2 LLC header, with its SNAP extension when DSAP = SSAP = 0xAA.
public struct LLCHeader: ~Escapable {
    /// From the DSAP to the end of the captured packet.
    public let bytes: RawSpan

    @_lifetime(copy bytes)
    init(_ bytes: RawSpan) { self.bytes = bytes }

    public var destinationSAP: UInt8 { bytes.u8(0) }
    public var sourceSAP: UInt8 { bytes.u8(1) }
    /// The first control byte (U-format frames have only this one).
    public var control: UInt8 { bytes.u8(2) }
    public var isSNAP: Bool { destinationSAP == 0xAA && sourceSAP == 0xAA && control == 0x03 && bytes.byteCount >= 8 }
    /// SNAP organisation code (0 for an encapsulated EtherType).
    public var snapOrganizationCode: UInt32? {
        isSNAP ? UInt32(bytes.u8(3)) << 16 | UInt32(bytes.u16(4)) : nil
    }
    /// SNAP protocol id (an EtherType when the organisation code is 0).
    public var snapProtocol: UInt16? { isSNAP ? bytes.u16(6) : nil }
}

/// A Linux cooked-capture header (LINKTYPE_LINUX_SLL or _SLL2).
public struct LinuxCookedHeader: ~Escapable {
    public let bytes: RawSpan
    /// 1 for SLL (16 bytes), 2 for SLL2 (20 bytes).
    public let version: Int

    @_lifetime(copy bytes)
    init(_ bytes: RawSpan, version: Int) {
        self.bytes = bytes
        self.version = version
    }

    /// 0 to the host, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us.
    public var packetType: UInt16 { version == 1 ? bytes.u16(0) : UInt16(bytes.u8(10)) }
    /// The ARPHRD_ type of the interface (1 Ethernet, 772 loopback, ...).
    public var hardwareType: UInt16 { version == 1 ? bytes.u16(2) : bytes.u16(8) }
    /// Number of meaningful bytes in `linkAddress` (up to 8).
    public var linkAddressLength: Int { Int(version == 1 ? bytes.u16(4) : UInt16(bytes.u8(11))) }
    /// The link-layer address's bytes (first 8 at most) as a big-endian number, left-aligned.
    public var linkAddressPrefix: UInt64 {
        let base = version == 1 ? 6 : 12
        return UInt64(bytes.u32(base)) << 32 | UInt64(bytes.u32(base + 4))
    }
    /// The link-layer address as a MAC when it is 6 bytes long.
    public var sourceMAC: MACAddress? {
        linkAddressLength == 6 ? bytes.mac(version == 1 ? 6 : 12) : nil
    }
    /// The protocol: an EtherType, or a small ETH_P_ value (4 = 802.2 LLC).
    public var protocolType: UInt16 { version == 1 ? bytes.u16(14) : bytes.u16(0) }
    /// SLL2 only: the interface index.
    public var interfaceIndex: UInt32? { version == 2 ? bytes.u32(4) : nil }
}

/// An ARP (or RARP) packet; address accessors read Ethernet/IPv4 ARP.
public struct ARPPacket: ~Escapable {
    /// The whole ARP packet (fixed part and the four addresses).
    public let bytes: RawSpan

    @_lifetime(copy bytes)
    init(_ bytes: RawSpan) { self.bytes = bytes }

    public var hardwareType: UInt16 { bytes.u16(0) }
    public var protocolType: UInt16 { bytes.u16(2) }
    public var hardwareAddressLength: Int { Int(bytes.u8(4)) }
    public var protocolAddressLength: Int { Int(bytes.u8(5)) }
    /// 1 request, 2 reply, 3/4 RARP request/reply, 8/9 InARP.
    public var operation: UInt16 { bytes.u16(6) }
    /// Whether addresses are Ethernet MACs and IPv4 addresses (hardware type 1 or 6, protocol IPv4).
    public var isEthernetIPv4: Bool {
        hardwareAddressLength == 6 && protocolAddressLength == 4 && protocolType == EtherType.ipv4
    }
    public var senderHardwareAddress: MACAddress? { isEthernetIPv4 ? bytes.mac(8) : nil }
    public var senderProtocolAddress: IPv4Address? { isEthernetIPv4 ? bytes.ipv4(14) : nil }
    public var targetHardwareAddress: MACAddress? { isEthernetIPv4 ? bytes.mac(18) : nil }
    public var targetProtocolAddress: IPv4Address? { isEthernetIPv4 ? bytes.ipv4(24) : nil }
    /// Length of the ARP packet (8 + the four addresses).
    public var length: Int { bytes.byteCount }

    public static func operationName(_ operation: UInt16) -> String? {
        switch operation {
        case 1: return "Request"
        case 2: return "Reply"
        case 3: return "Reverse Request"
        case 4: return "Reverse Reply"
        case 8: return "InARP Request"
        case 9: return "InARP Reply"
        default: return nil
        }
    }
}

/// A GRE header (RFC 2784/2890).
public struct GREHeader: ~Escapable {
    public let bytes: RawSpan

    @_lifetime(copy bytes)
    init(_ bytes: RawSpan) { self.bytes = bytes }

    public var flagsAndVersion: UInt16 { bytes.u16(0) }
    public var hasChecksum: Bool { flagsAndVersion & 0x8000 != 0 }
    public var hasKey: Bool { flagsAndVersion & 0x2000 != 0 }
    public var hasSequenceNumber: Bool { flagsAndVersion & 0x1000 != 0 }
    /// The EtherType of the encapsulated packet.
    public var protocolType: UInt16 { bytes.u16(2) }
    public var key: UInt32? { hasKey ? bytes.u32(hasChecksum ? 8 : 4) : nil }
    public var sequenceNumber: UInt32? {
        hasSequenceNumber ? bytes.u32(4 + (hasChecksum ? 4 : 0) + (hasKey ? 4 : 0)) : nil
    }
}
