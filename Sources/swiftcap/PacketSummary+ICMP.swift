import PacketDecoding

// ICMP and ICMPv6 lines: type names, echo ids, what the embedded packet of an error says.
extension PacketSummary {
    func appendICMP(_ packet: borrowing DecodedPacket, length: Int, to out: inout TextLine) {
        let icmp = packet.icmp!
        out += "ICMP "
        let type = icmp.type, code = icmp.code
        switch type {
        case 0, 8:
            out += "echo \(type == 0 ? "reply" : "request"), id \(icmp.identifier ?? 0), seq \(icmp.sequenceNumber ?? 0)"
        case 3:
            let embedded = icmp.embeddedPacket
            let dst = embedded?.ipv4?.destination.description ?? "?"
            switch code {
            case 0: out += "net \(dst) unreachable"
            case 1: out += "host \(dst) unreachable"
            case 2: out += "\(dst) protocol \(embedded?.ipv4?.protocolNumber ?? 0) unreachable"
            case 3:
                let proto = embedded?.ipv4?.protocolNumber ?? 0
                var port: UInt16 = 0
                if let e = embedded, let n = e.layers.network, e.bytes.byteCount >= n.payloadOffset + 4 {
                    port = e.bytes.u16(n.payloadOffset + 2)
                }
                switch proto {
                case IPProtocol.tcp: out += "\(dst) tcp port \(port) unreachable"
                case IPProtocol.udp: out += "\(dst) udp port \(port) unreachable"
                default: out += "\(dst) protocol \(proto) port \(port) unreachable"
                }
            case 4:
                let mtu = icmp.nextHopMTU ?? 0
                out += mtu == 0 ? "\(dst) unreachable - need to frag" : "\(dst) unreachable - need to frag (mtu \(mtu))"
            default:
                let names = [5: "source route failed", 6: "net unknown", 7: "host unknown", 9: "net prohibited",
                             10: "host prohibited", 13: "admin prohibited filter"]
                out += "\(dst) unreachable - \(names[Int(code)] ?? "#\(code)")"
            }
        case 11:
            out += code == 1 ? "ip reassembly time exceeded" : "time exceeded in-transit"
        default:
            out += ICMPHeader.typeName(type) ?? "type-#\(type)"
        }
        out += ", length \(length)"
    }

    func appendICMPv6(_ packet: borrowing DecodedPacket, length: Int, to out: inout TextLine) {
        let icmp = packet.icmpv6!
        let type = icmp.type
        if verbose, let expected = packet.expectedTransportChecksum {
            out += icmp.checksum == expected ? "[icmp6 sum ok] "
                : "[bad icmp6 cksum 0x\(hex(icmp.checksum, width: 4)) -> 0x\(hex(expected, width: 4))!] "
        }
        out += "ICMP6, \(ICMPv6Header.typeName(type) ?? "unknown icmp6 type (\(type))")"
        switch type {
        case 128, 129:
            guard let id = icmp.identifier, let seq = icmp.sequenceNumber else { out += " [|icmp6]"; return }
            out += ", id \(id), seq \(seq)"
            if verbose { return }  // tcpdump -v leaves the length out here
        case 135, 136:
            guard let t = icmp.targetAddress else { out += " [|icmp6]"; return }
            out += type == 135 ? ", who has \(t)" : ", tgt is \(t)"
        case 2: if let mtu = icmp.mtu { out += ", mtu \(mtu)" }
        case 1:
            let codes: [UInt8: String] = [0: "unreachable route", 1: "unreachable prohibited", 2: "beyond scope",
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
        case 143:
            if icmp.bytes.byteCount >= 8 { out += ", \(icmp.bytes.u16(6)) group record(s)" }
        default: break
        }
        out += ", length \(length)"
    }
}
