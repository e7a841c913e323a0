import PacketDecoding

// IPv4/IPv6 lines: the -v header fields, IPv6 extension headers, AH, what follows IP.
extension PacketSummary {
    /// The line of the IP packet `ip` and what it carries (also the packet inside an ICMP error).
    mutating func appendIP(_ packet: borrowing DecodedPacket, _ ip: NetworkLayer, depth: Int, to out: inout TextLine) {
        let bytes = packet.bytes
        let isV4 = ip.kind == .ipv4
        // With -e the EtherType already says what follows.
        if !linkHeader || depth > 0 { out += isV4 ? "IP " : "IP6 " }
        let source: Address, destination: Address
        if isV4 {
            let h = packet.ipv4Header(ip)
            source = .v4(h.source)
            destination = .v4(h.destination)
            if verbose {
                out += "(tos 0x\(hex(UInt16(h.typeOfService), width: 1)), ttl \(h.timeToLive), id \(h.identification), offset \(h.fragmentOffset * 8), "
                var flags: [String] = []
                if h.flags & 0x4 != 0 { flags.append("rsvd") }
                if h.dontFragment { flags.append("DF") }
                if h.moreFragments { flags.append("+") }
                out += "flags [\(flags.isEmpty ? "none" : flags.joined(separator: ", "))], proto \(IPProtocol.name(h.protocolNumber)) (\(h.protocolNumber)), length \(h.totalLength)"
                if !h.headerChecksumIsValid { out += ", bad cksum \(hex(h.headerChecksum, width: 1))!" }
                out += ")\n    "
            }
        } else {
            let h = packet.ipv6Header(ip)
            source = .v6(h.source)
            destination = .v6(h.destination)
            if verbose {
                out += "("
                if h.trafficClass != 0 { out += "class 0x\(hex(UInt16(h.trafficClass), width: 1)), " }
                if h.flowLabel != 0 { out += "flowlabel 0x\(hex(UInt16(h.flowLabel >> 4), width: 4))\(hex(UInt16(h.flowLabel & 0xF), width: 1)), " }
                out += "hlim \(h.hopLimit), next-header \(IPProtocol.name(h.nextHeader)) (\(h.nextHeader)) payload length: \(h.payloadLength)) "
            }
        }
        var upper = ip.upperProtocol ?? 0
        // tcpdump prints the addresses with the ports when TCP/UDP follow the fixed header directly.
        let firstNext = isV4 ? upper : bytes.u8(ip.offset + 6)
        let addressesWithPorts = firstNext == IPProtocol.tcp || firstNext == IPProtocol.udp
        if !addressesWithPorts || ip.fragmentOffset != 0 {
            out.append(source)
            out += " > "
            out.append(destination)
            out += ": "
        }
        if !isV4 { appendIPv6Extensions(packet, ip, to: &out) }
        if ip.fragmentOffset != 0 {
            if isV4 { out.removeLast(); out += " ip-proto-\(upper)" }
            return
        }
        var payloadLength = ip.kind == .ipv4
            ? Int(bytes.u16(ip.offset + 2)) - ip.headerLength
            : Int(bytes.u16(ip.offset + 4)) + 40 - ip.headerLength
        if isV4 && upper == IPProtocol.authenticationHeader {
            let at = ip.payloadOffset
            guard bytes.byteCount >= at + 12 else { out += "[|AH]"; return }
            let length = (Int(bytes.u8(at + 1)) + 2) * 4
            appendAH(bytes, at: at, length: length, to: &out)
            upper = bytes.u8(at)
            payloadLength -= length
        }
        let transport = packet.layers.transport
        let carriesTransport = depth == 0 ? packet.layers.innerNetwork == nil : true
        switch upper {
        case IPProtocol.tcp, IPProtocol.udp:
            let prefix = addressesWithPorts ? (source, destination) : nil
            guard carriesTransport, let t = transport else {
                return appendTruncated(packet, upper == IPProtocol.tcp ? "tcp" : "udp", ports: prefix, to: &out)
            }
            if t.kind == .tcp { appendTCP(packet, t, ip: ip, addresses: prefix, length: payloadLength, to: &out) }
            else { appendUDP(packet, addresses: prefix, to: &out) }
        case IPProtocol.icmp:
            guard carriesTransport, transport?.kind == .icmp else { return appendTruncated(packet, "icmp", ports: nil, to: &out) }
            appendICMP(packet, length: payloadLength, to: &out)
        case IPProtocol.icmpv6:
            guard carriesTransport, transport?.kind == .icmpv6 else { return appendTruncated(packet, "icmp6", ports: nil, to: &out) }
            appendICMPv6(packet, length: payloadLength, to: &out)
        case IPProtocol.ipInIP, IPProtocol.ipv6:
            if let inner = packet.layers.innerNetwork, depth == 0 { appendIP(packet, inner, depth: 1, to: &out) }
            else { out += "[|ip]" }
        case IPProtocol.gre:
            out += "GREv0, length \(payloadLength): "
            if let inner = packet.layers.innerNetwork, depth == 0 { appendIP(packet, inner, depth: 1, to: &out) }
        default:
            out += "\(IPProtocol.name(upper).lowercased() == "ip-proto-\(upper)" ? "ip-proto-\(upper)" : IPProtocol.name(upper)) \(payloadLength)"
        }
    }

    func appendIPv6Extensions(_ packet: borrowing DecodedPacket, _ ip: NetworkLayer, to out: inout TextLine) {
        let h = packet.ipv6Header(ip)
        let bytes = h.bytes
        h.forEachExtensionHeader { type, offset, length in
            switch type {
            case IPProtocol.hopByHop: out += "HBH "
            case IPProtocol.destinationOptions: out += "DSTOPT "
            case IPProtocol.routing:
                let routingType = bytes.u8(offset + 2)
                out += "RT6 (len=\(bytes.u8(offset + 1)), type=\(routingType)\(routingType == 0 ? " [Deprecated]" : ""), segleft=\(bytes.u8(offset + 3))) "
            case IPProtocol.fragment:
                let field = bytes.u16(offset + 2)
                let fragmentOffset = Int(field & 0xFFF8)
                let rest = Int(bytes.u16(4)) + 40 - (offset + 8)
                if verbose {
                    out += "frag (0x\(hex32(bytes.u32(offset + 4))):\(fragmentOffset)|\(rest)) "
                } else {
                    out += "frag (\(fragmentOffset)|\(rest)) "
                }
            case IPProtocol.authenticationHeader:
                Self.appendAHText(bytes, at: offset, length: length, to: &out)
            default: break
            }
        }
    }

    func appendAH(_ bytes: RawSpan, at offset: Int, length: Int, to out: inout TextLine) {
        Self.appendAHText(bytes, at: offset, length: length, to: &out)
    }

    /// `AH(spi=0x...,seq=0x...,icv=0x...): `
    static func appendAHText(_ bytes: RawSpan, at offset: Int, length: Int, to out: inout TextLine) {
        // The SPI and sequence number need 12 bytes; a damaged length can claim 8.
        guard length >= 12, offset + 12 <= bytes.byteCount else { out += "[|AH]"; return }
        out += "AH(spi=0x\(hex32(bytes.u32(offset + 4))),seq=0x\(String(bytes.u32(offset + 8), radix: 16))"
        if length > 12 && offset + length <= bytes.byteCount {
            out += ",icv=0x"
            for i in (offset + 12)..<(offset + length) { out += hex(UInt16(bytes.u8(i)), width: 2) }
        }
        out += "): "
    }

    /// tcpdump's ` [|NAME]` for a transport header it could not read, after the endpoints it could name.
    func appendTruncated(_ packet: borrowing DecodedPacket, _ name: String, ports: (Address, Address)?, to out: inout TextLine) {
        let end = packet.end
        if let ports {
            if end.layer == .tcp || end.layer == .udp, packet.bytes.byteCount - end.offset >= 4 {
                out.append(ports.0, port: packet.bytes.u16(end.offset))
                out += " > "
                out.append(ports.1, port: packet.bytes.u16(end.offset + 2))
                out += ": "
            } else {
                out.append(ports.0)
                out += " > "
                out.append(ports.1)
                // Without the ports tcp_print writes "SOURCE > DESTINATION:", udp_print a space more.
                out += name == "tcp" ? ":" : ": "
            }
        } else if end.layer == .icmpv6, end.offset < packet.bytes.byteCount {
            // tcpdump's icmp6_print names the type before it runs out of bytes.
            let type = packet.bytes.u8(end.offset)
            out += "ICMP6, \(ICMPv6Header.typeName(type) ?? "unknown icmp6 type (\(type))")"
        }
        out += " [|\(name)]"
    }
}
