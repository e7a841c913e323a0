import PacketDecoding

/// A matrix of frames made by `PacketBuilder`, shared by the decoder, tshark and inject tests.
enum BuiltFrames {
    static let macA = MACAddress("02:00:00:00:00:0a")!, macB = MACAddress("02:00:00:00:00:0b")!
    static let ipA = IPv4Address(10, 0, 0, 1), ipB = IPv4Address(10, 0, 0, 2)
    static let ip6A = IPv6Address("2001:db8::a")!, ip6B = IPv6Address("2001:db8::b")!

    struct Frame {
        var name: String
        var builder: PacketBuilder
        var linkType: UInt32 { if case .none = builder.link { return LinkTypeNumber.raw } else { return LinkTypeNumber.ethernet } }
        var bytes: [UInt8] { builder.build() }
    }

    static func tcp(_ ports: (UInt16, UInt16) = (40000, 80)) -> PacketBuilder.Transport {
        .tcp(TCPFields(sourcePort: ports.0, destinationPort: ports.1, sequenceNumber: 1000, acknowledgmentNumber: 2000,
                       flags: [.syn, .ack], window: 29200,
                       options: [.maximumSegmentSize(1460), .sackPermitted, .timestamps(value: 7, echoReply: 9), .noOperation,
                                 .windowScale(7), .noOperation, .noOperation,
                                 .selectiveAcknowledgment(TCPSACKBlocks([(left: 2100, right: 2200)]))]))
    }

    /// Every link × network × transport combination the builder supports, and ARP.
    static func all(links: [PacketBuilder.Link]? = nil) -> [Frame] {
        let links = links ?? [.none, .ethernet(source: macA, destination: macB),
                              .ethernet(source: macA, destination: macB, vlanIDs: [10]),
                              .ethernet(source: macA, destination: macB, vlanIDs: [100, 200])]
        let payload = Array("swiftcap built this frame".utf8)
        var frames: [Frame] = []
        for (l, link) in links.enumerated() {
            let v4 = PacketBuilder.Network.ipv4(IPv4Fields(source: ipA, destination: ipB, timeToLive: 33, identification: 77))
            let v6 = PacketBuilder.Network.ipv6(IPv6Fields(source: ip6A, destination: ip6B, hopLimit: 44, flowLabel: 0x12345))
            let transports: [(String, PacketBuilder.Network, PacketBuilder.Transport)] = [
                ("ipv4-udp", v4, .udp(sourcePort: 5555, destinationPort: 9999)),
                ("ipv4-tcp", v4, tcp()),
                ("ipv4-icmp", v4, .icmpEcho(request: true, identifier: 7, sequence: 3)),
                ("ipv6-udp", v6, .udp(sourcePort: 5555, destinationPort: 9999)),
                ("ipv6-tcp", v6, tcp()),
                ("ipv6-icmpv6", v6, .icmpv6Echo(request: false, identifier: 8, sequence: 4)),
            ]
            for (name, network, transport) in transports {
                frames.append(Frame(name: "link\(l)-\(name)", builder: PacketBuilder(link: link, network: network, transport: transport, payload: payload)))
            }
            if case .ethernet = link {
                frames.append(Frame(name: "link\(l)-arp", builder: PacketBuilder(
                    link: link, network: .arp(operation: 1, senderMAC: macA, senderIP: ipA, targetMAC: .zero, targetIP: ipB))))
            }
        }
        return frames
    }
}
