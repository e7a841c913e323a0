/// A packet's bytes with its decoded layers: a view, valid as long as the bytes.
///
/// `DecodedPacket` and every header view it hands out (`EthernetHeader`,
/// `IPv4Header`, `TCPHeader`, ...) are non-escapable: the compiler rejects code
/// that keeps one beyond the life of the bytes it was made from. Fields are
/// read from the bytes on access; nothing is copied or allocated.
///
///     let decoded = DecodedPacket(bytes: packet.bytes.span.bytes, linkType: 1)
///     if let ip = decoded.ipv4, let tcp = decoded.tcp { print(ip.source, tcp.sourcePort) }
public struct DecodedPacket: ~Escapable {
    /// All captured bytes of the packet.
    public let bytes: RawSpan
    public private(set) var layers: PacketLayers

    /// Decodes `bytes` captured with link type `linkType` (a LINKTYPE_ value).
    @_lifetime(copy bytes)
    public init(bytes: RawSpan, linkType: UInt32) {
        self.bytes = bytes
        layers = PacketLayers(linkType: linkType)
        PacketLayers.decode(bytes, linkType: linkType, into: &layers)
    }

    /// Pairs `bytes` with layers decoded from them before (`PacketLayers.decode`).
    @_lifetime(copy bytes)
    public init(bytes: RawSpan, layers: PacketLayers) {
        self.bytes = bytes
        self.layers = layers
    }

    /// Decodes the bytes of an `UnsafeRawBufferPointer` (a file `PacketView`'s
    /// `bytes`, a receive buffer) for the duration of `body`.
    public static func withDecoded<Result, Failure: Error>(
        unsafeBytes: UnsafeRawBufferPointer, linkType: UInt32,
        _ body: (borrowing DecodedPacket) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let span = RawSpan(_unsafeBytes: unsafeBytes)
        return try body(DecodedPacket(bytes: span, linkType: linkType))
    }

    /// Where and why decoding ended.
    public var end: DecodeEnd { layers.end }

    // MARK: Link layer

    /// The Ethernet (II or 802.3) header.
    public var ethernet: EthernetHeader? {
        @_lifetime(copy self) get {
            guard let link = layers.link, link.kind == .ethernet || link.kind == .ieee8023 else { return nil }
            return EthernetHeader(bytes.extracting(0..<14))
        }
    }

    /// Number of 802.1Q/802.1ad tags.
    public var vlanTagCount: Int { layers.link?.vlanTagCount ?? 0 }

    /// The `index`th VLAN tag, outermost first.
    public func vlanTag(_ index: Int) -> VLANTag? {
        guard let link = layers.link, index >= 0, index < link.vlanTagCount else { return nil }
        let offset = link.vlanOffset + 4 * index
        return VLANTag(protocolIdentifier: bytes.u16(offset), controlInformation: bytes.u16(offset + 2))
    }

    /// The 802.2 LLC header of an 802.3 frame (or SLL frame with protocol 0x0004).
    public var llc: LLCHeader? {
        @_lifetime(copy self) get {
            guard let offset = layers.link?.llcOffset, bytes.byteCount - offset >= 3 else { return nil }
            return LLCHeader(bytes.extracting(offset..<bytes.byteCount))
        }
    }

    /// The Linux cooked header (SLL or SLL2).
    public var linuxCooked: LinuxCookedHeader? {
        @_lifetime(copy self) get {
            guard let link = layers.link else { return nil }
            switch link.kind {
            case .linuxCooked: return LinuxCookedHeader(bytes.extracting(0..<16), version: 1)
            case .linuxCooked2: return LinuxCookedHeader(bytes.extracting(0..<20), version: 2)
            default: return nil
            }
        }
    }

    /// The BSD loopback header's address family, in host terms (byte order resolved).
    public var loopbackFamily: UInt32? {
        guard layers.link?.kind == .loopback else { return nil }
        var family = layers.linkType == LinkTypeNumber.loop ? bytes.u32(0) : bytes.u32LittleEndian(0)
        if family & 0xFFFF_0000 != 0 { family = family.byteSwapped }
        return family
    }

    // MARK: Network layer

    public var arp: ARPPacket? {
        @_lifetime(copy self) get {
            guard let n = layers.network, n.kind == .arp else { return nil }
            return ARPPacket(bytes.extracting(n.offset..<n.end))
        }
    }

    /// The outermost IPv4 header.
    public var ipv4: IPv4Header? {
        @_lifetime(copy self) get {
            guard let n = layers.network, n.kind == .ipv4 else { return nil }
            return ipv4Header(n)
        }
    }

    /// The outermost IPv6 header.
    public var ipv6: IPv6Header? {
        @_lifetime(copy self) get {
            guard let n = layers.network, n.kind == .ipv6 else { return nil }
            return ipv6Header(n)
        }
    }

    /// The IPv4 header that `network` (one of `layers`' network layers) describes.
    @_lifetime(copy self)
    public func ipv4Header(_ network: NetworkLayer) -> IPv4Header {
        precondition(network.kind == .ipv4 && network.end <= bytes.byteCount, "not an IPv4 layer of this packet")
        return IPv4Header(bytes.extracting(network.offset..<network.end), layer: network)
    }

    /// The IPv6 header that `network` (one of `layers`' network layers) describes.
    @_lifetime(copy self)
    public func ipv6Header(_ network: NetworkLayer) -> IPv6Header {
        precondition(network.kind == .ipv6 && network.end <= bytes.byteCount, "not an IPv6 layer of this packet")
        return IPv6Header(bytes.extracting(network.offset..<network.end), layer: network)
    }

    /// The innermost IPv4 header of a tunnelled packet.
    public var innerIPv4: IPv4Header? {
        @_lifetime(copy self) get {
            guard let n = layers.innerNetwork, n.kind == .ipv4 else { return nil }
            return ipv4Header(n)
        }
    }

    /// The innermost IPv6 header of a tunnelled packet.
    public var innerIPv6: IPv6Header? {
        @_lifetime(copy self) get {
            guard let n = layers.innerNetwork, n.kind == .ipv6 else { return nil }
            return ipv6Header(n)
        }
    }

    public var gre: GREHeader? {
        @_lifetime(copy self) get {
            guard let t = layers.tunnel, t.kind == .gre else { return nil }
            return GREHeader(bytes.extracting(t.offset..<(t.offset + t.headerLength)))
        }
    }

    // MARK: Transport layer

    public var tcp: TCPHeader? {
        @_lifetime(copy self) get {
            guard let t = layers.transport, t.kind == .tcp else { return nil }
            return TCPHeader(bytes.extracting(t.offset..<t.end), headerLength: t.headerLength)
        }
    }

    public var udp: UDPHeader? {
        @_lifetime(copy self) get {
            guard let t = layers.transport, t.kind == .udp else { return nil }
            return UDPHeader(bytes.extracting(t.offset..<t.end))
        }
    }

    public var icmp: ICMPHeader? {
        @_lifetime(copy self) get {
            guard let t = layers.transport, t.kind == .icmp else { return nil }
            return ICMPHeader(bytes.extracting(t.offset..<t.end))
        }
    }

    public var icmpv6: ICMPv6Header? {
        @_lifetime(copy self) get {
            guard let t = layers.transport, t.kind == .icmpv6 else { return nil }
            return ICMPv6Header(bytes.extracting(t.offset..<t.end))
        }
    }

    /// The bytes after the transport header (TCP/UDP payload, ICMP data), or after
    /// the last header decoded; bounded by the IP length, never copied.
    public var payload: RawSpan {
        @_lifetime(copy self) get {
            if let t = layers.transport { return bytes.extracting(min(t.payloadOffset, t.end)..<t.end) }
            if let n = layers.innerNetwork ?? layers.network { return bytes.extracting(min(n.payloadOffset, n.end)..<n.end) }
            let start = min(layers.link?.headerLength ?? 0, bytes.byteCount)
            return bytes.extracting(start..<bytes.byteCount)
        }
    }
}

/// One 802.1Q / 802.1ad tag.
public struct VLANTag: Sendable, Hashable {
    /// The TPID before the tag: 0x8100 (802.1Q), 0x88A8 (802.1ad) or 0x9100.
    public var protocolIdentifier: UInt16
    /// The TCI: priority (3 bits), drop eligible (1 bit), VLAN id (12 bits).
    public var controlInformation: UInt16

    public init(protocolIdentifier: UInt16, controlInformation: UInt16) {
        self.protocolIdentifier = protocolIdentifier
        self.controlInformation = controlInformation
    }

    public var id: UInt16 { controlInformation & 0x0FFF }
    public var priority: UInt8 { UInt8(controlInformation >> 13) }
    public var dropEligible: Bool { controlInformation & 0x1000 != 0 }
}
