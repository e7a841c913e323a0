import PacketDecoding

/// tcpdump-style one-line summaries (`IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [S], ...`),
/// written to follow tcpdump 4.99's printers for the protocols PacketDecoding
/// decodes. Keeps tcpdump's per-connection state for relative TCP sequence numbers.
struct PacketSummary {
    var quiet = false
    var verbose = false
    var linkHeader = false
    var absoluteSequenceNumbers = false
    var tcpConversations = TCPConversations()
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

    func etherTypeText(_ type: UInt16) -> String {
        "\(EtherType.name(type) ?? "Unknown") (0x\(hex(type, width: 4)))"
    }

    func appendLinkHeader(_ packet: borrowing DecodedPacket, link: LinkLayer, wireLength: Int, to out: inout TextLine) {
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

    func appendUndecoded(_ packet: borrowing DecodedPacket, link: LinkLayer, wireLength: Int, to out: inout TextLine) {
        if let type = link.payloadType {
            if !linkHeader { out += "ethertype \(etherTypeText(type)), " }
            out += "length \(wireLength)"
        } else {
            out += "\(packet.end), length \(wireLength)"
        }
    }

    // MARK: ARP

    func appendARP(_ packet: borrowing DecodedPacket, length: Int, to out: inout TextLine) {
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
}
