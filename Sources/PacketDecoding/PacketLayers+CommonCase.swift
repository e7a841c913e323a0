// The common case of a capture, Ethernet II + IPv4 or IPv6 + TCP or UDP with every
// header captured, decoded in one pass: one length check per header, then unchecked
// reads inside what that check covered, and the result written once. Anything else
// (VLAN tags, IP options cut short, fragments, extension headers, truncation, other
// protocols) returns false having written nothing, and the general walk runs.
//
// Measured with bench/decode: the general walk's per-read bounds checks, calls per
// layer and reset of every field cost more than the reads themselves. `decode(_:linkType:into:)`
// and this path are @inlinable: inlined into the caller's packet loop they cost a third
// less again (CPU time over 440k packets, bench/decode's file), the walk stays a call.

extension PacketLayers {
    /// Decodes `bytes` (LINKTYPE_ETHERNET) into `layers` when it is the common case;
    /// the result is the one the general walk gives (checked by DecoderTests).
    @inlinable @inline(__always)
    static func decodeCommonEthernet(_ bytes: RawSpan, into layers: inout PacketLayers) -> Bool {
        let count = bytes.byteCount
        // Ethernet header and the first byte of either IP header.
        guard count >= 14 + 20 else { return false }
        let etherType = bytes.uncheckedU16(12)
        let network: NetworkLayer
        let upperProtocol: UInt8
        switch etherType {
        case EtherType.ipv4:
            let first = bytes.uncheckedU8(14)
            let headerLength = Int(first & 0x0F) * 4
            guard first >> 4 == 4, headerLength >= 20, count - 14 >= headerLength else { return false }
            var totalLength = Int(bytes.uncheckedU16(16))
            if totalLength == 0 { totalLength = count - 14 }  // TSO/GSO, as the walk does
            let fragment = bytes.uncheckedU16(20)
            guard totalLength >= headerLength, fragment & 0x1FFF == 0 else { return false }
            upperProtocol = bytes.uncheckedU8(23)
            network = NetworkLayer(kind: .ipv4, offset: 14, headerLength: headerLength, end: min(14 + totalLength, count),
                                   upperProtocol: upperProtocol, fragmentOffset: 0, moreFragments: fragment & 0x2000 != 0)
        case EtherType.ipv6:
            guard count >= 14 + 40, bytes.uncheckedU8(14) >> 4 == 6 else { return false }
            let payloadLength = Int(bytes.uncheckedU16(18))
            upperProtocol = bytes.uncheckedU8(20)
            network = NetworkLayer(kind: .ipv6, offset: 14, headerLength: 40,
                                   end: payloadLength == 0 ? count : min(14 + 40 + payloadLength, count),
                                   upperProtocol: upperProtocol, fragmentOffset: 0, moreFragments: false)
        default:
            return false
        }
        let offset = 14 + network.headerLength, end = network.end
        let transport: TransportLayer
        switch upperProtocol {
        case IPProtocol.tcp:
            guard end - offset >= 20 else { return false }
            let headerLength = Int(bytes.uncheckedU8(offset + 12) >> 4) * 4
            guard headerLength >= 20, end - offset >= headerLength else { return false }
            transport = TransportLayer(kind: .tcp, offset: offset, headerLength: headerLength, end: end)
        case IPProtocol.udp:
            guard end - offset >= 8 else { return false }
            transport = TransportLayer(kind: .udp, offset: offset, headerLength: 8, end: end)
        default:
            return false
        }
        layers.linkType = LinkTypeNumber.ethernet
        layers.link = LinkLayer(kind: .ethernet, headerLength: 14, vlanTagCount: 0, vlanOffset: 12, llcOffset: nil,
                                payloadType: etherType)
        layers.network = network
        layers.tunnel = nil
        layers.innerNetwork = nil
        layers.transport = transport
        layers.end = DecodeEnd(layer: upperProtocol == IPProtocol.tcp ? .tcp : .udp, reason: .complete, offset: offset)
        return true
    }
}

extension RawSpan {
    /// A byte at `offset`, which the caller has checked is inside the span.
    @inlinable @inline(__always)
    func uncheckedU8(_ offset: Int) -> UInt8 {
        assert(offset >= 0 && offset < byteCount)
        return unsafe unsafeLoad(fromUncheckedByteOffset: offset, as: UInt8.self)
    }

    /// A big-endian UInt16 at `offset`, whose two bytes the caller has checked are inside the span.
    @inlinable @inline(__always)
    func uncheckedU16(_ offset: Int) -> UInt16 {
        assert(offset >= 0 && offset + 2 <= byteCount)
        return UInt16(bigEndian: unsafe unsafeLoadUnaligned(fromUncheckedByteOffset: offset, as: UInt16.self))
    }
}
