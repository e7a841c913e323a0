import PacketDecoding
import XCTest

/// Every link layer by LINKTYPE, wrapped around the same IPv4 and IPv6 UDP packets.
final class LinkLayerTests: XCTestCase {
    let v4 = PacketBuilder(link: .none, network: .ipv4(IPv4Fields(source: BuiltFrames.ipA, destination: BuiltFrames.ipB)),
                           transport: .udp(sourcePort: 1111, destinationPort: 2222), payload: [9, 9]).build()
    let v6 = PacketBuilder(link: .none, network: .ipv6(IPv6Fields(source: BuiltFrames.ip6A, destination: BuiltFrames.ip6B)),
                           transport: .udp(sourcePort: 1111, destinationPort: 2222), payload: [9, 9]).build()

    /// Decodes and checks the UDP ports were reached; returns the layers.
    @discardableResult
    func assertReachesUDP(_ bytes: [UInt8], _ linkType: UInt32, _ name: String, file: StaticString = #filePath, line: UInt = #line) -> PacketLayers {
        let layers = bytes.withUnsafeBytes { PacketLayers.decode(RawSpan(_unsafeBytes: $0), linkType: linkType) }
        XCTAssertEqual(layers.end.reason, .complete, "\(name): \(layers.end)", file: file, line: line)
        XCTAssertEqual(layers.transport?.kind, .udp, name, file: file, line: line)
        let port = layers.transport.map { UInt16(bytes[$0.offset]) << 8 | UInt16(bytes[$0.offset + 1]) }
        XCTAssertEqual(port, 1111, name, file: file, line: line)
        return layers
    }

    func testBSDLoopbackEveryFamilyEitherByteOrder() {
        let families: [(UInt32, [UInt8])] = [(2, v4), (10, v6), (24, v6), (28, v6), (30, v6)]
        for (family, packet) in families {
            let little = withUnsafeBytes(of: family.littleEndian) { Array($0) }
            let big = withUnsafeBytes(of: family.bigEndian) { Array($0) }
            for (linkType, header) in [(LinkTypeNumber.null, little), (LinkTypeNumber.null, big), (LinkTypeNumber.loop, big), (LinkTypeNumber.loop, little)] {
                let layers = assertReachesUDP(header + packet, linkType, "AF \(family) linktype \(linkType) header \(header)")
                XCTAssertEqual(layers.link?.kind, .loopback)
                XCTAssertEqual(layers.network?.kind, family == 2 ? .ipv4 : .ipv6)
            }
        }
        let unknown = [UInt8]([7, 0, 0, 0]) + v4
        let layers = unknown.withUnsafeBytes { PacketLayers.decode(RawSpan(_unsafeBytes: $0), linkType: 0) }
        XCTAssertEqual(layers.end.reason, .unsupportedProtocol(LoopbackFamily.iso))
    }

    func testRawIPLinkTypes() {
        for linkType in [LinkTypeNumber.raw, LinkTypeNumber.rawDLT12, LinkTypeNumber.rawDLT14] {
            assertReachesUDP(v4, linkType, "v4 linktype \(linkType)")
            assertReachesUDP(v6, linkType, "v6 linktype \(linkType)")
        }
        assertReachesUDP(v4, LinkTypeNumber.ipv4, "LINKTYPE_IPV4")
        assertReachesUDP(v6, LinkTypeNumber.ipv6, "LINKTYPE_IPV6")
    }

    func testLinuxCookedV1AndV2() {
        // SLL: packet type 4 (outgoing), ARPHRD_ETHER, address length 6, address, protocol.
        let sll: [UInt8] = [0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 0x0a, 0, 0, 0x08, 0x00]
        var layers = assertReachesUDP(sll + v4, LinkTypeNumber.linuxSLL, "SLL")
        XCTAssertEqual(layers.link?.kind, .linuxCooked)
        let sll6: [UInt8] = [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 0x0a, 0, 0, 0x86, 0xDD]
        assertReachesUDP(sll6 + v6, LinkTypeNumber.linuxSLL, "SLL IPv6")
        // SLL2: protocol, reserved, ifindex 3, ARPHRD_ETHER, packet type 0, address length 6, address.
        let sll2: [UInt8] = [0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 0x0a, 0, 0]
        layers = assertReachesUDP(sll2 + v4, LinkTypeNumber.linuxSLL2, "SLL2")
        XCTAssertEqual(layers.link?.kind, .linuxCooked2)
        let frame = sll2 + v4
        frame.withUnsafeBytes { raw in
            DecodedPacket.withDecoded(unsafeBytes: raw, linkType: LinkTypeNumber.linuxSLL2) { p in
                XCTAssertEqual(p.linuxCooked?.interfaceIndex, 3)
                XCTAssertEqual(p.linuxCooked?.sourceMAC, BuiltFrames.macA)
                XCTAssertEqual(p.linuxCooked?.protocolType, 0x0800)
            }
        }
    }

    func testEthernet8023SNAPAndStackedTags() {
        let macs = BuiltFrames.macB.bytes + BuiltFrames.macA.bytes
        // 802.3 length, LLC AA AA 03, SNAP OUI 0, EtherType IPv4.
        let snap = macs + [0x00, UInt8(8 + v4.count)] + [0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00] + v4
        var layers = assertReachesUDP(snap, 1, "802.3 SNAP")
        XCTAssertEqual(layers.link?.kind, .ieee8023)
        XCTAssertEqual(layers.link?.llcOffset, 14)
        // 802.1ad outer tag (S-VLAN 300), 802.1Q inner tag (C-VLAN 20), IPv6.
        let qinq = macs + [0x88, 0xA8, 0x01, 0x2C, 0x81, 0x00, 0x00, 0x14, 0x86, 0xDD] + v6
        layers = assertReachesUDP(qinq, 1, "QinQ")
        XCTAssertEqual(layers.link?.vlanTagCount, 2)
        qinq.withUnsafeBytes { raw in
            DecodedPacket.withDecoded(unsafeBytes: raw, linkType: 1) { p in
                XCTAssertEqual(p.vlanTag(0)?.id, 300)
                XCTAssertEqual(p.vlanTag(0)?.protocolIdentifier, 0x88A8)
                XCTAssertEqual(p.vlanTag(1)?.id, 20)
            }
        }
        // Non-SNAP LLC (STP): decoded to the LLC header, then unsupported.
        let stp = macs + [0x00, 0x26, 0x42, 0x42, 0x03] + [UInt8](repeating: 0, count: 35)
        layers = stp.withUnsafeBytes { PacketLayers.decode(RawSpan(_unsafeBytes: $0), linkType: 1) }
        XCTAssertEqual(layers.end.layer, .llc)
        XCTAssertEqual(layers.end.reason, .unsupportedProtocol(0x42))
    }

    func testTunnelsReachTheInnerPacket() {
        // IP-in-IP: outer IPv4 (protocol 4) around the IPv4/UDP packet.
        let ipip = PacketBuilder(link: .none, network: .ipv4(IPv4Fields(source: IPv4Address(192, 0, 2, 1), destination: IPv4Address(192, 0, 2, 2), protocolNumber: 4)),
                                 payload: v4).build()
        var layers = assertReachesUDP(ipip, LinkTypeNumber.raw, "IPIP")
        XCTAssertEqual(layers.tunnel?.kind, .ipInIP)
        XCTAssertEqual(layers.innerNetwork?.offset, 20)
        // GRE with key and sequence number (flags 0x3000) carrying IPv6.
        let gre: [UInt8] = [0x30, 0x00, 0x86, 0xDD, 0, 0, 0, 42, 0, 0, 0, 1] + v6
        let outer = PacketBuilder(link: .none, network: .ipv4(IPv4Fields(source: IPv4Address(192, 0, 2, 1), destination: IPv4Address(192, 0, 2, 2), protocolNumber: 47)),
                                  payload: gre).build()
        layers = assertReachesUDP(outer, LinkTypeNumber.raw, "GRE")
        XCTAssertEqual(layers.tunnel?.kind, .gre)
        XCTAssertEqual(layers.innerNetwork?.kind, .ipv6)
        outer.withUnsafeBytes { raw in
            DecodedPacket.withDecoded(unsafeBytes: raw, linkType: LinkTypeNumber.raw) { p in
                XCTAssertEqual(p.gre?.key, 42)
                XCTAssertEqual(p.gre?.sequenceNumber, 1)
                XCTAssertEqual(p.innerIPv6?.destination, BuiltFrames.ip6B)
                XCTAssertEqual(p.ipv4?.destination, IPv4Address(192, 0, 2, 2))
            }
        }
    }

    func testIPv6ExtensionChainToTheUpperProtocol() {
        // Hop-by-hop (8 bytes), destination options (8 bytes), fragment (first, more follow), then UDP.
        var ip = v6
        let udp = Array(ip[40...])
        ip[6] = 0  // next header: hop-by-hop
        let hbh: [UInt8] = [60, 0, 1, 4, 0, 0, 0, 0]
        let dst: [UInt8] = [44, 0, 1, 4, 0, 0, 0, 0]
        let frag: [UInt8] = [17, 0, 0x00, 0x01, 0xCA, 0xFE, 0x00, 0x01]
        let payloadLength = hbh.count + dst.count + frag.count + udp.count
        ip[4] = UInt8(payloadLength >> 8); ip[5] = UInt8(payloadLength & 0xFF)
        let packet = Array(ip[0..<40]) + hbh + dst + frag + udp
        let layers = assertReachesUDP(packet, LinkTypeNumber.raw, "extension chain")
        XCTAssertEqual(layers.network?.headerLength, 64)
        XCTAssertEqual(layers.network?.upperProtocol, 17)
        XCTAssertEqual(layers.network?.moreFragments, true)
        packet.withUnsafeBytes { raw in
            DecodedPacket.withDecoded(unsafeBytes: raw, linkType: LinkTypeNumber.raw) { p in
                var types: [UInt8] = []
                p.ipv6?.forEachExtensionHeader { type, _, _ in types.append(type) }
                XCTAssertEqual(types, [0, 60, 44])
                XCTAssertEqual(p.ipv6?.fragmentIdentification, 0xCAFE0001)
            }
        }
    }
}
