// The decoding walk: link header, VLAN tags and LLC/SNAP, ARP/IPv4/IPv6 (and
// IPv6 extension headers, IPv4 AH), IP-in-IP and GRE, then TCP/UDP/ICMP/ICMPv6.
// Every read is preceded by a length check; a failed check ends the walk with
// a DecodeEnd naming the layer.

extension PacketLayers {
    /// Tunnels (IP-in-IP, GRE) followed before the walk stops with `.nestedTooDeep`.
    public static let maximumTunnelDepth = 4
    /// VLAN tags followed before the walk stops with `.nestedTooDeep`.
    public static let maximumVLANTags = 8

    /// Decodes `bytes`, captured with link type `linkType` (a LINKTYPE_ value),
    /// down to the transport header. Never allocates, never reads outside `bytes`.
    public static func decode(_ bytes: RawSpan, linkType: UInt32) -> PacketLayers {
        var layers = PacketLayers(linkType: linkType)
        decode(bytes, linkType: linkType, into: &layers)
        return layers
    }

    /// Decodes into `layers` (replacing what it held) in place: the form for loops
    /// over many packets, which saves copying the result (a few hundred bytes) out.
    @inlinable @inline(__always)
    public static func decode(_ bytes: RawSpan, linkType: UInt32, into layers: inout PacketLayers) {
        if linkType == LinkTypeNumber.ethernet && decodeCommonEthernet(bytes, into: &layers) { return }
        decodeByWalk(bytes, linkType: linkType, into: &layers)
    }

    /// The general walk, for every packet `decodeCommonEthernet` leaves (and for tests
    /// that check the two agree).
    @usableFromInline
    static func decodeByWalk(_ bytes: RawSpan, linkType: UInt32, into layers: inout PacketLayers) {
        // Field by field: a nil optional is one tag byte, a fresh PacketLayers all of it.
        layers.linkType = linkType
        layers.link = nil
        layers.network = nil
        layers.tunnel = nil
        layers.innerNetwork = nil
        layers.transport = nil
        layers.end = DecodeEnd(layer: .link, reason: .complete, offset: 0)
        withUnsafeMutablePointer(to: &layers) { storage in
            var walk = Walk(bytes: bytes, storage: storage)
            walk.linkLayer()
        }
    }

    /// Decodes `bytes` as a bare IPv4 or IPv6 packet (by its version nibble), as
    /// LINKTYPE_RAW does: for the packet embedded in an ICMP error, for example.
    public static func decodeIP(_ bytes: RawSpan) -> PacketLayers {
        decode(bytes, linkType: LinkTypeNumber.raw)
    }
}

/// One walk over `bytes`, writing straight into the caller's PacketLayers.
private struct Walk: ~Escapable {
    let bytes: RawSpan
    let storage: UnsafeMutablePointer<PacketLayers>

    @_lifetime(copy bytes)
    init(bytes: RawSpan, storage: UnsafeMutablePointer<PacketLayers>) {
        self.bytes = bytes
        self.storage = storage
    }

    var layers: PacketLayers {
        _read { yield storage.pointee }
        nonmutating _modify { yield &storage.pointee }
    }

    var count: Int { bytes.byteCount }

    mutating func stop(_ layer: Layer, _ reason: DecodeEnd.Reason, at offset: Int) {
        layers.end = DecodeEnd(layer: layer, reason: reason, offset: offset)
    }

    /// Whether `needed` bytes are there at `offset` before `end`; if not, records the truncation.
    mutating func has(_ needed: Int, at offset: Int, end: Int, for layer: Layer) -> Bool {
        if end - offset >= needed { return true }
        stop(layer, .truncated(needed: needed, available: max(0, end - offset)), at: offset)
        return false
    }

    // MARK: Link layer

    mutating func linkLayer() {
        switch layers.linkType {
        case LinkTypeNumber.ethernet:
            ethernet()
        case LinkTypeNumber.null, LinkTypeNumber.loop:
            loopback(networkOrder: layers.linkType == LinkTypeNumber.loop)
        case LinkTypeNumber.raw, LinkTypeNumber.rawDLT12, LinkTypeNumber.rawDLT14:
            layers.link = LinkLayer(kind: .raw, headerLength: 0, vlanTagCount: 0, vlanOffset: 0, llcOffset: nil, payloadType: nil)
            guard has(1, at: 0, end: count, for: .ipv4) else { return }
            switch bytes.u8(0) >> 4 {
            case 4: ipv4(at: 0, depth: 0)
            case 6: ipv6(at: 0, depth: 0)
            case let v: stop(.link, .unsupportedProtocol(UInt32(v)), at: 0)
            }
        case LinkTypeNumber.ipv4:
            layers.link = LinkLayer(kind: .raw, headerLength: 0, vlanTagCount: 0, vlanOffset: 0, llcOffset: nil, payloadType: EtherType.ipv4)
            ipv4(at: 0, depth: 0)
        case LinkTypeNumber.ipv6:
            layers.link = LinkLayer(kind: .raw, headerLength: 0, vlanTagCount: 0, vlanOffset: 0, llcOffset: nil, payloadType: EtherType.ipv6)
            ipv6(at: 0, depth: 0)
        case LinkTypeNumber.linuxSLL:
            guard has(16, at: 0, end: count, for: .linuxCooked) else { return }
            cookedPayload(kind: .linuxCooked, headerLength: 16, protocolType: bytes.u16(14))
        case LinkTypeNumber.linuxSLL2:
            guard has(20, at: 0, end: count, for: .linuxCooked) else { return }
            cookedPayload(kind: .linuxCooked2, headerLength: 20, protocolType: bytes.u16(0))
        default:
            stop(.link, .unsupportedLinkType(layers.linkType), at: 0)
        }
    }

    mutating func ethernet() {
        guard has(14, at: 0, end: count, for: .ethernet) else { return }
        let type = bytes.u16(12)
        if type <= 1500 {
            layers.link = LinkLayer(kind: .ieee8023, headerLength: 14, vlanTagCount: 0, vlanOffset: 12, llcOffset: 14, payloadType: nil)
            llc(at: 14)
        } else {
            layers.link = LinkLayer(kind: .ethernet, headerLength: 14, vlanTagCount: 0, vlanOffset: 12, llcOffset: nil, payloadType: type)
            etherTypePayload(type, at: 14, from: .ethernet)
        }
    }

    /// SLL/SLL2: the protocol field is an EtherType, or 0x0004 for an 802.2 LLC frame.
    mutating func cookedPayload(kind: LinkLayer.Kind, headerLength: Int, protocolType: UInt16) {
        layers.link = LinkLayer(kind: kind, headerLength: headerLength, vlanTagCount: 0, vlanOffset: headerLength,
                                llcOffset: nil, payloadType: protocolType >= 0x0600 ? protocolType : nil)
        if protocolType == 0x0004 {
            layers.link!.llcOffset = headerLength
            llc(at: headerLength)
        } else if protocolType >= 0x0600 {
            etherTypePayload(protocolType, at: headerLength, from: .linuxCooked)
        } else {
            stop(.linuxCooked, .unsupportedProtocol(UInt32(protocolType)), at: 0)
        }
    }

    /// BSD loopback: a 4-byte address family, host order (NULL) or network order
    /// (LOOP); either is accepted in the other order too, as tcpdump does.
    mutating func loopback(networkOrder: Bool) {
        guard has(4, at: 0, end: count, for: .loopback) else { return }
        var family = networkOrder ? bytes.u32(0) : bytes.u32LittleEndian(0)
        if family & 0xFFFF_0000 != 0 { family = family.byteSwapped }
        let type: UInt16?
        switch family {
        case LoopbackFamily.inet: type = EtherType.ipv4
        case LoopbackFamily.inet6Linux, LoopbackFamily.inet6BSD, LoopbackFamily.inet6FreeBSD, LoopbackFamily.inet6Darwin:
            type = EtherType.ipv6
        default: type = nil
        }
        layers.link = LinkLayer(kind: .loopback, headerLength: 4, vlanTagCount: 0, vlanOffset: 4, llcOffset: nil, payloadType: type)
        guard let type else {
            stop(.loopback, .unsupportedProtocol(family), at: 0)
            return
        }
        etherTypePayload(type, at: 4, from: .loopback)
    }

    /// 802.2 LLC; SNAP with OUI 0 continues by its EtherType.
    mutating func llc(at offset: Int) {
        guard has(3, at: offset, end: count, for: .llc) else { return }
        let dsap = bytes.u8(offset), ssap = bytes.u8(offset + 1), control = bytes.u8(offset + 2)
        if dsap == 0xAA && ssap == 0xAA && control == 0x03 {
            guard has(8, at: offset, end: count, for: .llc) else { return }
            let oui = UInt32(bytes.u8(offset + 3)) << 16 | UInt32(bytes.u16(offset + 4))
            let type = bytes.u16(offset + 6)
            layers.link!.headerLength = offset + 8
            if oui == 0 || oui == 0xF8 {
                layers.link!.payloadType = type
                etherTypePayload(type, at: offset + 8, from: .llc)
            } else {
                stop(.llc, .unsupportedProtocol(oui << 16 | UInt32(type)), at: offset)
            }
        } else {
            // I-format and S-format PDUs have a 2-byte control field.
            let length = control & 0x03 == 0x03 ? 3 : 4
            guard has(length, at: offset, end: count, for: .llc) else { return }
            layers.link!.headerLength = offset + length
            stop(.llc, .unsupportedProtocol(UInt32(dsap)), at: offset)
        }
    }

    /// VLAN tags, then the network layer the EtherType names.
    mutating func etherTypePayload(_ firstType: UInt16, at start: Int, from layer: Layer) {
        var type = firstType, offset = start
        while type == EtherType.vlan || type == EtherType.qinq || type == EtherType.qinqLegacy {
            guard layers.link!.vlanTagCount < PacketLayers.maximumVLANTags else {
                stop(.vlan, .nestedTooDeep, at: offset)
                return
            }
            guard has(4, at: offset, end: count, for: .vlan) else { return }
            type = bytes.u16(offset + 2)
            offset += 4
            layers.link!.vlanTagCount += 1
            layers.link!.headerLength = offset
            layers.link!.payloadType = type
        }
        if layers.link!.vlanTagCount > 0 && type <= 1500 {
            // A tagged 802.3 frame: LLC after the tags.
            layers.link!.payloadType = nil
            layers.link!.llcOffset = offset
            llc(at: offset)
            return
        }
        network(type, at: offset, from: layers.link!.vlanTagCount > 0 ? .vlan : layer, depth: 0)
    }

    // MARK: Network layer

    mutating func network(_ type: UInt16, at offset: Int, from layer: Layer, depth: Int) {
        switch type {
        case EtherType.ipv4: ipv4(at: offset, depth: depth)
        case EtherType.ipv6: ipv6(at: offset, depth: depth)
        case EtherType.arp, EtherType.reverseARP: arp(at: offset)
        default: stop(layer, .unsupportedProtocol(UInt32(type)), at: offset)
        }
    }

    mutating func record(_ network: NetworkLayer, depth: Int) {
        if depth == 0 { layers.network = network } else { layers.innerNetwork = network }
    }

    mutating func arp(at offset: Int) {
        guard has(8, at: offset, end: count, for: .arp) else { return }
        let length = 8 + 2 * (Int(bytes.u8(offset + 4)) + Int(bytes.u8(offset + 5)))
        guard has(length, at: offset, end: count, for: .arp) else { return }
        record(NetworkLayer(kind: .arp, offset: offset, headerLength: length, end: offset + length, upperProtocol: nil,
                            fragmentOffset: 0, moreFragments: false), depth: 0)
        stop(.arp, .complete, at: offset)
    }

    mutating func ipv4(at offset: Int, depth: Int) {
        guard has(20, at: offset, end: count, for: .ipv4) else { return }
        let first = bytes.u8(offset)
        guard first >> 4 == 4 else { return stop(.ipv4, .badVersion(first >> 4), at: offset) }
        let headerLength = Int(first & 0x0F) * 4
        guard headerLength >= 20 else { return stop(.ipv4, .badHeaderLength(headerLength), at: offset) }
        var totalLength = Int(bytes.u16(offset + 2))
        if totalLength == 0 { totalLength = count - offset }  // TSO/GSO: the kernel leaves it 0
        guard totalLength >= headerLength else { return stop(.ipv4, .badLength(totalLength), at: offset) }
        guard has(headerLength, at: offset, end: count, for: .ipv4) else { return }
        let fragment = bytes.u16(offset + 6)
        let ip = NetworkLayer(kind: .ipv4, offset: offset, headerLength: headerLength, end: min(offset + totalLength, count),
                              upperProtocol: bytes.u8(offset + 9), fragmentOffset: Int(fragment & 0x1FFF) * 8,
                              moreFragments: fragment & 0x2000 != 0)
        record(ip, depth: depth)
        if ip.fragmentOffset != 0 { return stop(.ipv4, .laterFragment(offset: ip.fragmentOffset), at: offset) }
        upper(ip.upperProtocol!, at: ip.payloadOffset, end: ip.end, from: .ipv4, depth: depth)
    }

    mutating func ipv6(at offset: Int, depth: Int) {
        guard has(40, at: offset, end: count, for: .ipv6) else { return }
        let version = bytes.u8(offset) >> 4
        guard version == 6 else { return stop(.ipv6, .badVersion(version), at: offset) }
        let payloadLength = Int(bytes.u16(offset + 4))
        let end = payloadLength == 0 ? count : min(offset + 40 + payloadLength, count)
        var ip = NetworkLayer(kind: .ipv6, offset: offset, headerLength: 40, end: end, upperProtocol: nil,
                              fragmentOffset: 0, moreFragments: false)
        var next = bytes.u8(offset + 6)
        var position = offset + 40
        // Each extension header is at least 8 bytes, so the walk ends.
        chain: while true {
            switch next {
            case IPProtocol.hopByHop, IPProtocol.routing, IPProtocol.destinationOptions, IPProtocol.authenticationHeader:
                guard has(2, at: position, end: end, for: .ipv6Extension) else { record(ip, depth: depth); return }
                let length = next == IPProtocol.authenticationHeader
                    ? (Int(bytes.u8(position + 1)) + 2) * 4 : (Int(bytes.u8(position + 1)) + 1) * 8
                guard has(length, at: position, end: end, for: .ipv6Extension) else { record(ip, depth: depth); return }
                next = bytes.u8(position)
                position += length
            case IPProtocol.fragment:
                guard has(8, at: position, end: end, for: .ipv6Extension) else { record(ip, depth: depth); return }
                let field = bytes.u16(position + 2)
                ip.fragmentOffset = Int(field & 0xFFF8)
                ip.moreFragments = field & 1 != 0
                ip.ipv6FragmentHeaderOffset = position
                next = bytes.u8(position)
                position += 8
            default:
                break chain
            }
            ip.headerLength = position - offset
        }
        ip.upperProtocol = next
        record(ip, depth: depth)
        if ip.fragmentOffset != 0 { return stop(.ipv6, .laterFragment(offset: ip.fragmentOffset), at: offset) }
        upper(next, at: position, end: end, from: .ipv6, depth: depth)
    }

    // MARK: Above IP

    mutating func upper(_ proto: UInt8, at offset: Int, end: Int, from layer: Layer, depth: Int) {
        switch proto {
        case IPProtocol.tcp:
            guard has(20, at: offset, end: end, for: .tcp) else { return }
            let headerLength = Int(bytes.u8(offset + 12) >> 4) * 4
            guard headerLength >= 20 else { return stop(.tcp, .badHeaderLength(headerLength), at: offset) }
            // Options cut by the snapshot length: the fixed header is still there to read.
            layers.transport = TransportLayer(kind: .tcp, offset: offset, headerLength: min(headerLength, end - offset), end: end)
            guard has(headerLength, at: offset, end: end, for: .tcp) else { return }
            stop(.tcp, .complete, at: offset)
        case IPProtocol.udp:
            guard has(8, at: offset, end: end, for: .udp) else { return }
            layers.transport = TransportLayer(kind: .udp, offset: offset, headerLength: 8, end: end)
            stop(.udp, .complete, at: offset)
        case IPProtocol.icmp, IPProtocol.icmpv6:
            let name: Layer = proto == IPProtocol.icmp ? .icmp : .icmpv6
            guard has(4, at: offset, end: end, for: name) else { return }
            let headerLength = min(8, end - offset)
            layers.transport = TransportLayer(kind: proto == IPProtocol.icmp ? .icmp : .icmpv6, offset: offset,
                                              headerLength: headerLength, end: end)
            if has(8, at: offset, end: end, for: name) { stop(name, .complete, at: offset) }
        case IPProtocol.ipInIP, IPProtocol.ipv6:
            guard depth < PacketLayers.maximumTunnelDepth else { return stop(layer, .nestedTooDeep, at: offset) }
            if layers.tunnel == nil { layers.tunnel = TunnelLayer(kind: .ipInIP, offset: offset, headerLength: 0) }
            var inner = Walk(bytes: bytes.extracting(0..<end), storage: storage)
            if proto == IPProtocol.ipInIP { inner.ipv4(at: offset, depth: depth + 1) } else { inner.ipv6(at: offset, depth: depth + 1) }
        case IPProtocol.gre:
            gre(at: offset, end: end, depth: depth)
        case IPProtocol.authenticationHeader where layer == .ipv4:
            guard has(2, at: offset, end: end, for: .ipv4) else { return }
            let length = (Int(bytes.u8(offset + 1)) + 2) * 4
            guard has(length, at: offset, end: end, for: .ipv4) else { return }
            upper(bytes.u8(offset), at: offset + length, end: end, from: layer, depth: depth)
        default:
            stop(layer, .unsupportedProtocol(UInt32(proto)), at: offset)
        }
    }

    /// GRE version 0 (RFC 2784/2890): checksum, key and sequence number are optional.
    mutating func gre(at offset: Int, end: Int, depth: Int) {
        guard has(4, at: offset, end: end, for: .gre) else { return }
        let flags = bytes.u16(offset)
        guard flags & 0x7 == 0, flags & 0x4000 == 0 else {
            // Version 1 (PPTP) and source routing are not followed.
            return stop(.gre, .unsupportedProtocol(UInt32(flags)), at: offset)
        }
        let headerLength = 4 + (flags & 0x8000 != 0 ? 4 : 0) + (flags & 0x2000 != 0 ? 4 : 0) + (flags & 0x1000 != 0 ? 4 : 0)
        guard has(headerLength, at: offset, end: end, for: .gre) else { return }
        guard depth < PacketLayers.maximumTunnelDepth else { return stop(.gre, .nestedTooDeep, at: offset) }
        if layers.tunnel == nil { layers.tunnel = TunnelLayer(kind: .gre, offset: offset, headerLength: headerLength) }
        let type = bytes.u16(offset + 2)
        var inner = Walk(bytes: bytes.extracting(0..<end), storage: storage)
        switch type {
        case EtherType.ipv4: inner.ipv4(at: offset + headerLength, depth: depth + 1)
        case EtherType.ipv6: inner.ipv6(at: offset + headerLength, depth: depth + 1)
        default: inner.stop(.gre, .unsupportedProtocol(UInt32(type)), at: offset)
        }
    }
}

/// Address-family values in BSD loopback headers (LINKTYPE_NULL, LINKTYPE_LOOP).
public enum LoopbackFamily {
    public static let inet: UInt32 = 2
    /// Linux's AF_INET6.
    public static let inet6Linux: UInt32 = 10
    /// NetBSD, OpenBSD, BSD/OS.
    public static let inet6BSD: UInt32 = 24
    public static let inet6FreeBSD: UInt32 = 28
    /// macOS, iOS.
    public static let inet6Darwin: UInt32 = 30
    public static let iso: UInt32 = 7
    public static let appleTalk: UInt32 = 16
    public static let ipx: UInt32 = 23
}
