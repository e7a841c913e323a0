import PacketDecoding

// ICMP and ICMPv6 lines: type names, echo ids, what the embedded packet of an error says.
extension PacketSummary {
    /// tcpdump's icmp_print: the message's line (only ` [|icmp]` when the bytes it names
    /// were not captured); with -v a wrong checksum, and for an error the packet it carries.
    mutating func appendICMP(_ packet: borrowing DecodedPacket, length: Int, to out: inout TextLine) {
        let icmp = packet.icmp!
        let start = out.count
        guard appendICMPText(icmp, to: &out) else {
            out.removeSuffix(from: start)
            out += " [|icmp]"
            return
        }
        out += ", length \(length)"
        guard verbose else { return }
        if let ip = packet.layers.transportNetwork, !ip.moreFragments, let expected = packet.expectedTransportChecksum,
           expected != icmp.checksum {
            out += " (wrong icmp cksum \(String(icmp.checksum, radix: 16)) (->\(String(expected, radix: 16)))!)"
        }
        if icmp.isError, let embedded = icmp.embeddedPacket, let inner = embedded.layers.network, inner.kind == .ipv4 {
            out += "\n\t"
            appendIP(embedded, inner, depth: 0, to: &out)
        }
    }

    /// `ICMP TEXT`; false when a field the text needs was not captured.
    private func appendICMPText(_ icmp: borrowing ICMPHeader, to out: inout TextLine) -> Bool {
        out += "ICMP "
        let type = icmp.type, code = icmp.code
        switch type {
        case 0, 8:
            guard let id = icmp.identifier, let seq = icmp.sequenceNumber else { return false }
            out += "echo \(type == 0 ? "reply" : "request"), id \(id), seq \(seq)"
        case 3:
            // Every text names the invoking packet's destination: its IPv4 header must be there.
            guard let embedded = icmp.embeddedPacket, let ip = embedded.ipv4, icmp.bytes.byteCount >= 8 + 20 else { return false }
            let dst = ip.destination
            switch code {
            case 0: out += "net \(dst) unreachable"
            case 1: out += "host \(dst) unreachable"
            case 2: out += "\(dst) protocol \(ip.protocolNumber) unreachable"
            case 3:
                guard let n = embedded.layers.network, embedded.bytes.byteCount >= n.payloadOffset + 4 else { return false }
                let port = embedded.bytes.u16(n.payloadOffset + 2)
                switch ip.protocolNumber {
                case IPProtocol.tcp: out += "\(dst) tcp port \(port) unreachable"
                case IPProtocol.udp: out += "\(dst) udp port \(port) unreachable"
                default: out += "\(dst) protocol \(ip.protocolNumber) port \(port) unreachable"
                }
            case 4:
                let mtu = icmp.nextHopMTU ?? 0
                out += mtu == 0 ? "\(dst) unreachable - need to frag" : "\(dst) unreachable - need to frag (mtu \(mtu))"
            default:
                let names = [5: "source route failed", 6: "net unknown", 7: "host unknown", 9: "net prohibited",
                             10: "host prohibited", 13: "admin prohibited filter"]
                out += "\(dst) unreachable - \(names[Int(code)] ?? "#\(code)")"
            }
        case 5:
            guard let embedded = icmp.embeddedPacket, let ip = embedded.ipv4, let gateway = icmp.gateway else { return false }
            let (kind, to): (String, String) = switch code {
            case 0: ("redirect", "to net")
            case 1: ("redirect", "to host")
            case 2: ("redirect-tos", "to net")
            case 3: ("redirect-tos", "to host")
            default: ("redirect-#\(code)", "to")
            }
            out += "\(kind) \(ip.destination) \(to) \(gateway)"
        case 11:
            out += code == 1 ? "ip reassembly time exceeded" : "time exceeded in-transit"
        case 12:
            guard icmp.bytes.byteCount >= 5 else { return false }
            out += code != 0 ? "parameter problem - code \(code)" : "parameter problem - octet \(icmp.bytes.u8(4))"
        default:
            out += ICMPHeader.typeName(type) ?? "type-#\(type)"
        }
        return true
    }

    func appendICMPv6(_ packet: borrowing DecodedPacket, length: Int, to out: inout TextLine) {
        let icmp = packet.icmpv6!
        let type = icmp.type
        if verbose, let expected = packet.expectedTransportChecksum {
            out += icmp.checksum == expected ? "[icmp6 sum ok] "
                : "[bad icmp6 cksum 0x\(hex(icmp.checksum, width: 4)) -> 0x\(hex(expected, width: 4))!] "
        }
        out += "ICMP6, \(ICMPv6Header.typeName(type) ?? "unknown icmp6 type (\(type))")"
        // tcpdump -v prints the length of neighbour discovery messages here, and of no other at the end.
        let discovery = (133...137).contains(type)
        if verbose && discovery { out += ", length \(length)" }
        switch type {
        case 128, 129:
            guard let id = icmp.identifier, let seq = icmp.sequenceNumber else { out += " [|icmp6]"; return }
            out += ", id \(id), seq \(seq)"
        case 135, 136:
            guard let t = icmp.targetAddress else { out += " [|icmp6]"; return }
            out += type == 135 ? ", who has \(t)" : ", tgt is \(t)"
        case 137:
            guard icmp.bytes.byteCount >= 40 else { out += " [|icmp6]"; return }
            out += ", \(icmp.bytes.ipv6Address(24)) to \(icmp.bytes.ipv6Address(8))"
        case 2: if let mtu = icmp.mtu { out += ", mtu \(mtu)" }
        case 1:
            // tcpdump's table has the space before "unreachable prohibited".
            let codes: [UInt8: String] = [0: "unreachable route", 1: " unreachable prohibited", 2: "beyond scope",
                                          3: "unreachable address", 4: "unreachable port"]
            out += ", \(codes[icmp.code] ?? "unknown unreach code (\(icmp.code))")"
            guard let embedded = icmp.embeddedPacket, let ip = embedded.ipv6 else {
                if icmp.code <= 4 { out += " [|icmp6]"; return }
                break
            }
            switch icmp.code {
            case 0, 1, 3: out += " \(ip.destination)"
            case 2: out += " \(ip.destination), source address \(ip.source)"
            case 4:
                guard let t = embedded.layers.transport, embedded.bytes.byteCount >= t.offset + 4 else { out += " [|icmp6]"; return }
                let port = embedded.bytes.u16(t.offset + 2)
                switch t.kind {
                case .tcp: out += ", \(ip.destination) tcp port \(port)"
                case .udp: out += ", \(ip.destination) udp port \(port)"
                default: out += ", \(ip.destination) protocol \(ip.upperProtocol ?? 0) port \(port) unreachable"
                }
            default: break
            }
        case 3:
            if icmp.code == 0 {
                guard let embedded = icmp.embeddedPacket, let ip = embedded.ipv6 else { out += " [|icmp6]"; return }
                out += " for \(ip.destination)"
            } else {
                out += icmp.code == 1 ? " (reassembly)" : ", unknown code (\(icmp.code))"
            }
        case 4:
            // tcpdump checks the invoking packet's destination address is there first.
            guard icmp.bytes.byteCount >= 8 + 40 else { out += " [|icmp6]"; return }
            let pointer = icmp.bytes.u32(4)
            switch icmp.code {
            case 0: out += ", erroneous - octet \(pointer)"
            case 1: out += ", next header - octet \(pointer)"
            case 2: out += ", option - octet \(pointer)"
            default: out += ", code-#\(icmp.code)"
            }
        case 143:
            if icmp.bytes.byteCount >= 8 { out += ", \(icmp.bytes.u16(6)) group record(s)" }
        default: break
        }
        if verbose && discovery {
            if !appendNeighborDiscoveryDetails(icmp.bytes, type: type, length: length, to: &out) { out += " [|icmp6]" }
        }
        if !verbose { out += ", length \(length)" }
    }
}
