import PacketDecoding

/// The decoded layers of a packet as one JSON object, keys documented in the
/// README ("--json keys"): link, network, inner_network, transport, end.
enum DecodedJSON {
    static func object(_ p: borrowing DecodedPacket) -> String {
        var parts: [String] = []
        let layers = p.layers
        if let link = layers.link { parts.append("\"link\":" + self.link(p, link)) }
        if let network = layers.network { parts.append("\"network\":" + self.network(p, network)) }
        if let inner = layers.innerNetwork { parts.append("\"inner_network\":" + self.network(p, inner)) }
        if let transport = layers.transport { parts.append("\"transport\":" + self.transport(p, transport)) }
        let end = layers.end
        parts.append("\"end\":{\"layer\":\"\(end.layer)\",\"reason\":\"\(end.reasonName)\",\"offset\":\(end.offset)}")
        return "{" + parts.joined(separator: ",") + "}"
    }

    static func fields(_ pairs: [(String, String?)]) -> String {
        "{" + pairs.compactMap { key, value in value.map { "\"\(key)\":\($0)" } }.joined(separator: ",") + "}"
    }

    static func quoted(_ text: CustomStringConvertible?) -> String? { text.map { "\"\($0)\"" } }
    static func number(_ value: (any BinaryInteger)?) -> String? { value.map { "\($0)" } }

    static func link(_ p: borrowing DecodedPacket, _ link: LinkLayer) -> String {
        let names: [LinkLayer.Kind: String] = [.ethernet: "ethernet", .ieee8023: "802.3", .linuxCooked: "sll",
                                               .linuxCooked2: "sll2", .loopback: "null", .raw: "raw"]
        var pairs: [(String, String?)] = [("type", quoted(names[link.kind]))]
        if let e = p.ethernet {
            pairs += [("src", quoted(e.source)), ("dst", quoted(e.destination))]
        }
        if let c = p.linuxCooked {
            pairs += [("packet_type", number(c.packetType)), ("src", quoted(c.sourceMAC))]
        }
        pairs.append(("family", number(p.loopbackFamily)))
        pairs.append(("ethertype", number(link.payloadType)))
        if link.vlanTagCount > 0 {
            pairs.append(("vlan", "[" + (0..<link.vlanTagCount).map { String(p.vlanTag($0)!.id) }.joined(separator: ",") + "]"))
        }
        return fields(pairs)
    }

    static func network(_ p: borrowing DecodedPacket, _ n: NetworkLayer) -> String {
        switch n.kind {
        case .arp:
            let a = p.arp!
            return fields([("type", "\"arp\""), ("op", number(a.operation)), ("sender_mac", quoted(a.senderHardwareAddress)),
                           ("sender_ip", quoted(a.senderProtocolAddress)), ("target_mac", quoted(a.targetHardwareAddress)),
                           ("target_ip", quoted(a.targetProtocolAddress))])
        case .ipv4:
            let ip = p.ipv4Header(n)
            return fields([("type", "\"ipv4\""), ("src", quoted(ip.source)), ("dst", quoted(ip.destination)),
                           ("proto", number(ip.protocolNumber)), ("ttl", number(ip.timeToLive)), ("id", number(ip.identification)),
                           ("flags", number(ip.flags)), ("frag_offset", number(ip.fragmentOffset)), ("length", number(ip.totalLength)),
                           ("checksum_ok", String(ip.headerChecksumIsValid))])
        case .ipv6:
            let ip = p.ipv6Header(n)
            return fields([("type", "\"ipv6\""), ("src", quoted(ip.source)), ("dst", quoted(ip.destination)),
                           ("next_header", number(ip.nextHeader)), ("upper_proto", number(ip.upperProtocol)),
                           ("hop_limit", number(ip.hopLimit)), ("payload_length", number(ip.payloadLength))])
        }
    }

    static func transport(_ p: borrowing DecodedPacket, _ t: TransportLayer) -> String {
        let checksum = p.transportChecksumIsValid.map { String($0) }
        switch t.kind {
        case .tcp:
            let tcp = p.tcp!
            return fields([("type", "\"tcp\""), ("sport", number(tcp.sourcePort)), ("dport", number(tcp.destinationPort)),
                           ("seq", number(tcp.sequenceNumber)), ("ack", number(tcp.acknowledgmentNumber)),
                           ("flags", number(tcp.flags.rawValue)), ("window", number(tcp.window)),
                           ("header_length", number(tcp.dataOffset)), ("payload_length", number(t.payloadLength)),
                           ("checksum_ok", checksum)])
        case .udp:
            let udp = p.udp!
            return fields([("type", "\"udp\""), ("sport", number(udp.sourcePort)), ("dport", number(udp.destinationPort)),
                           ("length", number(udp.length)), ("checksum_ok", checksum)])
        case .icmp:
            let icmp = p.icmp!
            return fields([("type", "\"icmp\""), ("icmp_type", number(icmp.type)), ("code", number(icmp.code)),
                           ("id", number(icmp.identifier)), ("seq", number(icmp.sequenceNumber)), ("checksum_ok", checksum)])
        case .icmpv6:
            let icmp = p.icmpv6!
            return fields([("type", "\"icmpv6\""), ("icmp_type", number(icmp.type)), ("code", number(icmp.code)),
                           ("id", number(icmp.identifier)), ("seq", number(icmp.sequenceNumber)), ("checksum_ok", checksum)])
        }
    }
}
