import PacketDecoding

/// tcpdump-style one-line summaries (`IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [S], ...`),
/// written to follow tcpdump 4.99's printers for the protocols PacketDecoding
/// decodes. Keeps tcpdump's per-connection state for relative TCP sequence numbers.
struct PacketSummary {
    var quiet = false
    var verbose = false
    var linkHeader = false
    var absoluteSequenceNumbers = false
    private var tcpConversations = TCPConversations()
    /// Whether the last summary stopped where tcpdump's printer runs out of
    /// captured bytes and abandons the packet: tcpdump's -x then dumps it from byte 0.
    private(set) var lastStoppedShort = false

    init(quiet: Bool = false, verbose: Bool = false, linkHeader: Bool = false, absoluteSequenceNumbers: Bool = false) {
        self.quiet = quiet
        self.verbose = verbose
        self.linkHeader = linkHeader
        self.absoluteSequenceNumbers = absoluteSequenceNumbers
    }

    /// Appends the summary of one packet (without timestamp); `wireLength` is its length on the wire.
    mutating func write(_ packet: borrowing DecodedPacket, wireLength: Int, to out: inout TextLine) {
        write(of: packet, wireLength: wireLength, to: &out)
        // Seen in tcpdump 4.99: TCP options cut at a kind or length byte abandon the
        // packet ("[|tcp]>", cut inside an option's data, does not).
        lastStoppedShort = out.hasSuffix(" [|tcp]") && out.contains("options [")
    }

    private mutating func write(of packet: borrowing DecodedPacket, wireLength: Int, to out: inout TextLine) {
        let layers = packet.layers
        guard let link = layers.link else {
            out += "[|link] link type \(layers.linkType), length \(wireLength)"
            return
        }
        let afterLink = wireLength - link.headerLength
        if linkHeader { appendLinkHeader(packet, link: link, wireLength: wireLength, to: &out) }
        if link.vlanTagCount > 0 && !linkHeader {
            // tcpdump prints tags even without -e.
            for i in 0..<link.vlanTagCount {
                let tag = packet.vlanTag(i)!
                let next = i + 1 < link.vlanTagCount ? packet.vlanTag(i + 1)!.protocolIdentifier : (link.payloadType ?? 0)
                out += "vlan \(tag.id), p \(tag.priority)\(tag.dropEligible ? ", DEI" : ""), ethertype \(etherTypeText(next)), "
            }
        }
        guard let network = layers.network else {
            appendUndecoded(packet, link: link, wireLength: wireLength, to: &out)
            return
        }
        switch network.kind {
        case .arp: appendARP(packet, length: afterLink, to: &out)
        case .ipv4, .ipv6: appendIP(packet, network, depth: 0, to: &out)
        }
    }

    // MARK: Link layer

    private func etherTypeText(_ type: UInt16) -> String {
        "\(EtherType.name(type) ?? "Unknown") (0x\(hex(type, width: 4)))"
    }

    private func appendLinkHeader(_ packet: borrowing DecodedPacket, link: LinkLayer, wireLength: Int, to out: inout TextLine) {
        switch link.kind {
        case .ethernet, .ieee8023:
            let e = packet.ethernet!
            out += "\(e.source) > \(e.destination)"
            if link.kind == .ieee8023 {
                out += ", 802.3, length \(wireLength): "
                return
            }
            out += quiet ? ", \(EtherType.name(e.typeOrLength) ?? "Unknown"), length \(wireLength): "
                : ", ethertype \(etherTypeText(e.typeOrLength)), length \(wireLength): "
            for i in 0..<link.vlanTagCount {
                let tag = packet.vlanTag(i)!
                let next = i + 1 < link.vlanTagCount ? packet.vlanTag(i + 1)!.protocolIdentifier : (link.payloadType ?? 0)
                out += "vlan \(tag.id), p \(tag.priority)\(tag.dropEligible ? ", DEI" : ""), ethertype \(etherTypeText(next)), "
            }
        case .linuxCooked, .linuxCooked2:
            let c = packet.linuxCooked!
            let direction = ["In", "B", "M", "P", "Out"]
            out += Int(c.packetType) < direction.count ? direction[Int(c.packetType)] : "\(c.packetType)"
            if let mac = c.sourceMAC { out += " \(mac)" }
            out += " ethertype \(etherTypeText(c.protocolType)), length \(wireLength): "
        case .loopback:
            let family = packet.loopbackFamily ?? 0
            let name = family == LoopbackFamily.inet ? "IPv4" : link.payloadType == EtherType.ipv6 ? "IPv6" : "Unknown"
            out += "AF \(name) (\(family)), length \(wireLength): "
        case .raw:
            out += "ip: "
        }
    }

    private func appendUndecoded(_ packet: borrowing DecodedPacket, link: LinkLayer, wireLength: Int, to out: inout TextLine) {
        if let type = link.payloadType {
            if !linkHeader { out += "ethertype \(etherTypeText(type)), " }
            out += "length \(wireLength)"
        } else {
            out += "\(packet.end), length \(wireLength)"
        }
    }

    // MARK: ARP

    private func appendARP(_ packet: borrowing DecodedPacket, length: Int, to out: inout TextLine) {
        let arp = packet.arp!
        if !linkHeader { out += "ARP, " }
        if !arp.isEthernetIPv4 || verbose {
            out += "\(arp.hardwareType == 1 ? "Ethernet" : "Unknown Hardware (\(arp.hardwareType))") (len \(arp.hardwareAddressLength)), "
            out += "\(EtherType.name(arp.protocolType) ?? "Unknown Protocol (0x\(hex(arp.protocolType, width: 4)))") (len \(arp.protocolAddressLength)), "
        }
        let operation = arp.operation
        let names: [UInt16: String] = [1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply",
                                       8: "InArp Request", 9: "InArp Reply", 10: "NACK Reply"]
        out += names[operation] ?? "Unknown (\(operation))"
        guard arp.isEthernetIPv4 else {
            out += ", length \(length)"
            return
        }
        let sha = arp.senderHardwareAddress!, spa = arp.senderProtocolAddress!
        let tha = arp.targetHardwareAddress!, tpa = arp.targetProtocolAddress!
        switch operation {
        case 1:
            out += " who-has \(tpa)"
            if tha != .zero { out += " (\(tha))" }
            out += " tell \(spa)"
        case 2: out += " \(spa) is-at \(sha)"
        case 3: out += " who-is \(tha) tell \(sha)"
        case 4: out += " \(tha) at \(tpa)"
        case 8: out += " who-is \(tha) tell \(sha)"
        case 9: out += " \(spa) at \(sha)"
        default: break
        }
        out += ", length \(length)"
    }

    // MARK: IP

    private mutating func appendIP(_ packet: borrowing DecodedPacket, _ ip: NetworkLayer, depth: Int, to out: inout TextLine) {
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

    private func appendIPv6Extensions(_ packet: borrowing DecodedPacket, _ ip: NetworkLayer, to out: inout TextLine) {
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

    private func appendAH(_ bytes: RawSpan, at offset: Int, length: Int, to out: inout TextLine) {
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

    private func appendTruncated(_ packet: borrowing DecodedPacket, _ name: String, ports: (Address, Address)?, to out: inout TextLine) {
        let end = packet.end
        if let ports, end.layer == .tcp || end.layer == .udp, packet.bytes.byteCount - end.offset >= 4 {
            out.append(ports.0, port: packet.bytes.u16(end.offset))
            out += " > "
            out.append(ports.1, port: packet.bytes.u16(end.offset + 2))
            out += ": "
        }
        out += "[|\(name)]"
    }

    // MARK: Transport

    private mutating func appendTCP(_ packet: borrowing DecodedPacket, _ t: TransportLayer, ip: NetworkLayer,
                                    addresses: (Address, Address)?, length ipPayloadLength: Int, to out: inout TextLine) {
        let tcp = packet.tcp!
        let sport = tcp.sourcePort, dport = tcp.destinationPort
        if let addresses {
            out.append(addresses.0, port: sport)
            out += " > "
            out.append(addresses.1, port: dport)
            out += ": "
        } else {
            out += "\(sport) > \(dport): "
        }
        let headerLength = tcp.dataOffset
        if quiet {
            out += "tcp "
            out.append(ipPayloadLength - headerLength)
            if headerLength > ipPayloadLength { out += " [bad hdr length \(headerLength) - too long, > \(ipPayloadLength)]" }
            return
        }
        let flags = tcp.flags
        out += "Flags ["
        let start = out.count
        if flags.contains(.fin) { out += "F" }
        if flags.contains(.syn) { out += "S" }
        if flags.contains(.rst) { out += "R" }
        if flags.contains(.psh) { out += "P" }
        if flags.contains(.ack) { out += "." }
        if flags.contains(.urg) { out += "U" }
        if flags.contains(.ece) { out += "E" }
        if flags.contains(.cwr) { out += "W" }
        if out.count == start { out += "none" }
        out += "]"
        var seq = tcp.sequenceNumber, ack = tcp.acknowledgmentNumber
        var base = TCPConversations.Base(seq: 0, ack: 0, reversed: false)
        if !absoluteSequenceNumbers && flags.contains(.ack) {
            base = tcpConversations.relate(packet, ip: ip, sport: sport, dport: dport, seq: &seq, ack: &ack, syn: flags.contains(.syn))
        }
        if headerLength > ipPayloadLength {
            out += " [bad hdr length \(headerLength) - too long, > \(ipPayloadLength)]"
            return
        }
        let length = ipPayloadLength - headerLength
        if verbose, packet.layers.innerNetwork == nil, let expected = packet.expectedTransportChecksum {
            let stored = tcp.checksum
            out += ", cksum 0x\(hex(stored, width: 4)) (\(stored == expected ? "correct" : "incorrect -> 0x\(hex(expected, width: 4))"))"
        }
        if length > 0 || flags.contains(.syn) || flags.contains(.fin) || flags.contains(.rst) {
            out += ", seq \(seq)"
            if length > 0 { out += ":\(seq &+ UInt32(truncatingIfNeeded: length))" }
        }
        if flags.contains(.ack) { out += ", ack \(ack)" }
        out += ", win \(tcp.window)"
        if flags.contains(.urg) { out += ", urg \(tcp.urgentPointer)" }
        if tcp.dataOffset > 20 {
            guard appendTCPOptions(tcp.bytes, declared: tcp.dataOffset, base: base, to: &out) else { return }
        }
        out += ", length \(length)"
        if length > 0 && !flags.contains(.rst) && (Self.httpPorts.contains(sport) || Self.httpPorts.contains(dport)) {
            appendHTTP(tcp.bytes.extracting(min(tcp.dataOffset, tcp.bytes.byteCount)..<tcp.bytes.byteCount), to: &out)
        }
    }

    static let httpPorts: Set<UInt16> = [80, 8080, 3128]
    static let httpMethods: Set<String> = ["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT", "PATCH",
                                           "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "ORDERPATCH", "ACL"]

    /// tcpdump's `: HTTP`, then `: REQUEST-OR-STATUS-LINE` when the payload starts with one.
    private func appendHTTP(_ payload: RawSpan, to out: inout TextLine) {
        out += ": HTTP"
        var line: [UInt8] = []
        var i = 0
        var ended = false
        while i < payload.byteCount && i < 300 {
            let c = payload.u8(i)
            if c == 0x0D && i + 1 < payload.byteCount && payload.u8(i + 1) == 0x0A { ended = true; break }
            if c == 0x0A { ended = true; break }
            line.append(c)
            i += 1
        }
        let text = String(decoding: line, as: UTF8.self)
        let token = text.prefix { $0 != " " }
        let isResponse = token.hasPrefix("HTTP/") && text.split(separator: " ").dropFirst().first.map { $0.count == 3 && $0.allSatisfy(\.isNumber) } == true
        guard Self.httpMethods.contains(token.uppercased()) || isResponse else { return }
        guard ended else { out += ": \(text.filter { $0.isASCII && !$0.isWhitespace || $0 == " " }) [|http]"; return }
        out += ": \(text)"
    }

    /// tcpdump's option list: `, options [mss 1460,sackOK,...]`; on a truncated
    /// header ` [|tcp]>` as tcpdump prints it, and false (nothing more to print).
    private func appendTCPOptions(_ bytes: RawSpan, declared: Int, base: TCPConversations.Base, to out: inout TextLine) -> Bool {
        out += ", options ["
        var offset = 20
        var first = true
        let captured = bytes.byteCount
        // tcpdump: " [|tcp]" when the kind or length byte is missing, " [|tcp]>" inside an option's data.
        func truncated(inData: Bool = false) -> Bool { out += inData ? " [|tcp]>" : " [|tcp]"; return false }
        while offset < declared {
            if !first { out += "," }
            first = false
            guard offset < captured else { return truncated() }
            let kind = bytes.u8(offset)
            var length = 1
            if kind > 1 {
                guard offset + 1 < captured else { return truncated() }
                length = Int(bytes.u8(offset + 1))
                guard length >= 2, offset + length <= declared else { out += "[bad opt]]"; return true }
            }
            out += Self.tcpOptionName(kind)
            guard offset + length <= captured else { return truncated(inData: true) }
            let value = offset + 2
            var expected = length
            switch kind {
            case 2: expected = 4; if length >= 4 { out += " \(bytes.u16(value))" }
            case 3: expected = 3; if length >= 3 { out += " \(bytes.u8(value))" }
            case 4: expected = 2
            case 5:
                if (length - 2) % 8 != 0 {
                    out += " invalid sack"
                } else {
                    out += " \((length - 2) / 8) "
                    var b = value
                    while b < offset + length {
                        let edge = base.reversed ? base.seq : base.ack
                        out += "{\(bytes.u32(b) &- edge):\(bytes.u32(b + 4) &- edge)}"
                        b += 8
                    }
                }
            case 8: expected = 10; if length >= 10 { out += " val \(bytes.u32(value)) ecr \(bytes.u32(value + 4))" }
            case 0, 1: break
            default:
                if length > 2 {
                    out += " 0x"
                    for i in value..<(offset + length) { out += hex(UInt16(bytes.u8(i)), width: 2) }
                }
            }
            if expected != length { out += "[len \(length)]" }
            offset += length
            if kind == 0 { break }
        }
        out += "]"
        return true
    }

    static func tcpOptionName(_ kind: UInt8) -> String {
        switch kind {
        case 6: return "echo"
        case 7: return "echoreply"
        case 11: return "cc"
        case 12: return "ccnew"
        case 13: return "ccecho"
        case 19: return "md5"
        case 20: return "scps"
        case 28: return "uto"
        case 29: return "tcp-ao"
        case 30: return "mptcp"
        case 34: return "tfo"
        case 253, 254: return "exp"
        case 0: return "eol"
        case 1: return "nop"
        case 2: return "mss"
        case 3: return "wscale"
        case 4: return "sackOK"
        case 5: return "sack"
        case 8: return "TS"
        default: return "unknown-\(kind)"
        }
    }

    private func appendUDP(_ packet: borrowing DecodedPacket, addresses: (Address, Address)?, to out: inout TextLine) {
        let udp = packet.udp!
        if let addresses {
            out.append(addresses.0, port: udp.sourcePort)
            out += " > "
            out.append(addresses.1, port: udp.destinationPort)
            out += ": "
        } else {
            out += "\(udp.sourcePort) > \(udp.destinationPort): "
        }
        let length = Int(udp.length)
        if length < 8 { out += "truncated-udplength \(length)"; return }
        out += "UDP, length "
        out.append(length - 8)
    }

    private func appendICMP(_ packet: borrowing DecodedPacket, length: Int, to out: inout TextLine) {
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

    private func appendICMPv6(_ packet: borrowing DecodedPacket, length: Int, to out: inout TextLine) {
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

/// tcpdump's table of TCP conversations for relative sequence numbers: the
/// first packet with ACK set (or any SYN) of a connection records the base.
struct TCPConversations {
    struct Key: Hashable {
        var addresses: [UInt8]
        var ports: UInt32
    }

    struct Base {
        var seq: UInt32
        var ack: UInt32
        var reversed: Bool
    }

    private var table: [Key: Base] = [:]

    /// Rewrites `seq`/`ack` relative to the conversation's base as tcpdump does; returns the base.
    mutating func relate(_ packet: borrowing DecodedPacket, ip: NetworkLayer, sport: UInt16, dport: UInt16,
                         seq: inout UInt32, ack: inout UInt32, syn: Bool) -> Base {
        let addressLength = ip.kind == .ipv4 ? 4 : 16
        let sourceOffset = ip.offset + (ip.kind == .ipv4 ? 12 : 8)
        var source: [UInt8] = [], destination: [UInt8] = []
        for i in 0..<addressLength {
            source.append(packet.bytes.u8(sourceOffset + i))
            destination.append(packet.bytes.u8(sourceOffset + addressLength + i))
        }
        var reversed = sport > dport
        if sport == dport { reversed = source.lexicographicallyPrecedes(destination) == false && source != destination }
        let key = reversed
            ? Key(addresses: destination + source, ports: UInt32(dport) << 16 | UInt32(sport))
            : Key(addresses: source + destination, ports: UInt32(sport) << 16 | UInt32(dport))
        if let known = table[key], !syn {
            if reversed { seq &-= known.ack; ack &-= known.seq } else { seq &-= known.seq; ack &-= known.ack }
            return Base(seq: known.seq, ack: known.ack, reversed: reversed)
        }
        let base = reversed ? Base(seq: ack &- 1, ack: seq, reversed: reversed) : Base(seq: seq, ack: ack &- 1, reversed: reversed)
        table[key] = base
        return base
    }
}

func hex(_ value: UInt16, width: Int) -> String {
    let digits = String(value, radix: 16)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

func hex32(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}

/// An IP address to print: IPv4 digit by digit, IPv6 per RFC 5952.
enum Address {
    case v4(IPv4Address)
    case v6(IPv6Address)
}

extension TextLine {
    mutating func append(_ address: Address) {
        switch address {
        case let .v4(a): append(a)
        case let .v6(a): self += a.description
        }
    }

    /// `ADDRESS.PORT`, as tcpdump -n prints an endpoint.
    mutating func append(_ address: Address, port: UInt16) {
        append(address)
        append(byte: 0x2E)
        append(UInt64(port))
    }
}
