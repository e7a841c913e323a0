extension DecodedPacket {
    /// Whether the TCP, UDP, ICMP or ICMPv6 checksum is right (with the IPv4 or
    /// IPv6 pseudo-header where the protocol has one). nil when it cannot be
    /// checked: the segment is not wholly captured, there is no transport header,
    /// or a UDP-over-IPv4 sender left the checksum 0 (none).
    public var transportChecksumIsValid: Bool? {
        guard let t = layers.transport, let expected = expectedTransportChecksum else { return nil }
        return expected == bytes.u16(t.offset + (t.kind == .udp ? 6 : t.kind == .tcp ? 16 : 2))
    }

    /// The value the transport checksum field should hold for the bytes as captured
    /// (nil in the cases where `transportChecksumIsValid` is nil).
    public var expectedTransportChecksum: UInt16? {
        guard let t = layers.transport, let ip = layers.transportNetwork else { return nil }
        guard let claimedEnd = claimedEnd(of: ip), claimedEnd <= bytes.byteCount, claimedEnd >= t.offset else { return nil }
        let segment = bytes.extracting(t.offset..<claimedEnd)
        var sum = InternetChecksum()
        switch t.kind {
        case .icmp:
            break
        case .udp where ip.kind == .ipv4 && segment.u16(6) == 0:
            return nil
        case .tcp, .udp, .icmpv6:
            addPseudoHeader(of: ip, protocolNumber: ip.upperProtocol ?? 0, length: segment.byteCount, to: &sum)
        }
        let fieldOffset = t.kind == .udp ? 6 : t.kind == .tcp ? 16 : 2
        guard segment.byteCount >= fieldOffset + 2 else { return nil }
        sum.add(segment.extracting(0..<fieldOffset))
        sum.add(segment.extracting((fieldOffset + 2)..<segment.byteCount))
        return t.kind == .udp && sum.checksum == 0 ? 0xFFFF : sum.checksum
    }

    /// One past the last byte the IP header's length field claims.
    func claimedEnd(of ip: NetworkLayer) -> Int? {
        switch ip.kind {
        case .ipv4:
            let total = Int(bytes.u16(ip.offset + 2))
            return total == 0 ? nil : ip.offset + total
        case .ipv6:
            let payload = Int(bytes.u16(ip.offset + 4))
            return payload == 0 ? nil : ip.offset + 40 + payload
        case .arp:
            return nil
        }
    }

    func addPseudoHeader(of ip: NetworkLayer, protocolNumber: UInt8, length: Int, to sum: inout InternetChecksum) {
        if ip.kind == .ipv4 {
            sum.add(bytes.extracting((ip.offset + 12)..<(ip.offset + 20)))
            sum.add(UInt16(protocolNumber))
            sum.add(UInt16(truncatingIfNeeded: length))
        } else {
            sum.add(bytes.extracting((ip.offset + 8)..<(ip.offset + 40)))
            sum.add(UInt32(truncatingIfNeeded: length))
            sum.add(UInt32(protocolNumber))
        }
    }
}
