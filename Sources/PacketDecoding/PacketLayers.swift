/// Where each layer of one packet is: offsets and a few values, no pointers.
///
/// `PacketLayers.decode` computes it in one walk over the bytes without
/// allocating; `DecodedPacket` pairs it with the bytes for field access. It can
/// be kept and sent anywhere (it holds no reference to the bytes).
public struct PacketLayers: Sendable, Hashable {
    /// The LINKTYPE_ value the walk started from.
    public var linkType: UInt32
    /// The link-layer header; nil for unsupported link types.
    public var link: LinkLayer?
    /// The outermost network header (ARP, IPv4 or IPv6).
    public var network: NetworkLayer?
    /// The first IP-in-IP or GRE encapsulation, when there is one.
    public var tunnel: TunnelLayer?
    /// The innermost IP header when the packet is tunnelled (IP-in-IP, GRE); nil otherwise.
    public var innerNetwork: NetworkLayer?
    /// The transport header carried by the innermost IP header.
    public var transport: TransportLayer?
    /// Where and why the walk ended.
    public var end: DecodeEnd

    public init(linkType: UInt32) {
        self.linkType = linkType
        end = DecodeEnd(layer: .link, reason: .complete, offset: 0)
    }

    /// The IP header that carries `transport`: the inner one when tunnelled.
    public var transportNetwork: NetworkLayer? { innerNetwork ?? network }
}

public struct LinkLayer: Sendable, Hashable {
    public enum Kind: UInt8, Sendable {
        /// Ethernet II (also when 802.1Q tags follow the addresses).
        case ethernet
        /// IEEE 802.3 with a length field and an 802.2 LLC (and maybe SNAP) header.
        case ieee8023
        /// Linux cooked capture v1 (LINKTYPE_LINUX_SLL).
        case linuxCooked
        /// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2).
        case linuxCooked2
        /// BSD loopback: LINKTYPE_NULL (host order) or LINKTYPE_LOOP (network order).
        case loopback
        /// No link header: the packet starts with IPv4 or IPv6.
        case raw
    }

    public var kind: Kind
    /// Bytes before the network header: the link header, VLAN tags and LLC/SNAP.
    public var headerLength: Int
    /// 802.1Q / 802.1ad tags, four bytes each, starting at `vlanOffset`.
    public var vlanTagCount: Int
    public var vlanOffset: Int
    /// The 802.2 LLC header (802.3 frames, SLL with protocol 0x0004).
    public var llcOffset: Int?
    /// The EtherType of what follows the link header (after tags and SNAP);
    /// nil when what follows is not named by an EtherType (non-SNAP LLC).
    public var payloadType: UInt16?

    @inlinable
    init(kind: Kind, headerLength: Int, vlanTagCount: Int, vlanOffset: Int, llcOffset: Int?, payloadType: UInt16?) {
        self.kind = kind
        self.headerLength = headerLength
        self.vlanTagCount = vlanTagCount
        self.vlanOffset = vlanOffset
        self.llcOffset = llcOffset
        self.payloadType = payloadType
    }
}

public struct NetworkLayer: Sendable, Hashable {
    public enum Kind: UInt8, Sendable { case arp, ipv4, ipv6 }

    public var kind: Kind
    public var offset: Int
    /// IPv4: IHL × 4; IPv6: 40 plus the extension headers walked; ARP: the whole packet.
    public var headerLength: Int
    /// One past the last byte of this header's packet: its length field, clipped to the capture.
    public var end: Int
    /// The protocol after the header (and IPv6 extension headers); nil for ARP.
    public var upperProtocol: UInt8?
    /// Fragment offset in bytes (IPv4 header or IPv6 fragment header); 0 when not fragmented.
    public var fragmentOffset: Int
    public var moreFragments: Bool
    /// The IPv6 fragment header, when there is one.
    public var ipv6FragmentHeaderOffset: Int?

    @inlinable
    init(kind: Kind, offset: Int, headerLength: Int, end: Int, upperProtocol: UInt8?, fragmentOffset: Int,
         moreFragments: Bool, ipv6FragmentHeaderOffset: Int? = nil) {
        self.kind = kind
        self.offset = offset
        self.headerLength = headerLength
        self.end = end
        self.upperProtocol = upperProtocol
        self.fragmentOffset = fragmentOffset
        self.moreFragments = moreFragments
        self.ipv6FragmentHeaderOffset = ipv6FragmentHeaderOffset
    }

    /// The bytes after the header.
    public var payloadOffset: Int { offset + headerLength }
}

public struct TunnelLayer: Sendable, Hashable {
    public enum Kind: UInt8, Sendable { case ipInIP, gre }
    public var kind: Kind
    /// The GRE header (for `.gre`), or the inner IP header (for `.ipInIP`).
    public var offset: Int
    /// Length of the GRE header; 0 for IP-in-IP.
    public var headerLength: Int
}

public struct TransportLayer: Sendable, Hashable {
    public enum Kind: UInt8, Sendable { case tcp, udp, icmp, icmpv6 }

    public var kind: Kind
    public var offset: Int
    /// TCP: data offset × 4; UDP: 8; ICMP/ICMPv6: 8. Less when the capture ends
    /// inside the header (TCP options, ICMP's second word): `PacketLayers.end` then says truncated.
    public var headerLength: Int
    /// One past the last byte of the segment: the IP length, clipped to the capture.
    public var end: Int

    @inlinable
    init(kind: Kind, offset: Int, headerLength: Int, end: Int) {
        self.kind = kind
        self.offset = offset
        self.headerLength = headerLength
        self.end = end
    }

    public var payloadOffset: Int { offset + headerLength }
    /// Bytes of payload captured after the header.
    public var payloadLength: Int { max(0, end - payloadOffset) }
}
