import PacketDecoding
import XCTest

final class DecoderTests: XCTestCase {
    func decode(_ bytes: [UInt8], _ linkType: UInt32) -> PacketLayers {
        bytes.withUnsafeBytes { PacketLayers.decode(RawSpan(_unsafeBytes: $0), linkType: linkType) }
    }

    /// Built frames decode back to the fields they were built with, checksums right.
    func testBuiltFramesDecodeToTheirFields() throws {
        for frame in BuiltFrames.all() {
            let bytes = frame.bytes
            bytes.withUnsafeBytes { raw in
                DecodedPacket.withDecoded(unsafeBytes: raw, linkType: frame.linkType) { p in
                    let n = frame.name
                    XCTAssertEqual(p.end.reason, .complete, "\(n): \(p.end)")
                    if frame.linkType == LinkTypeNumber.ethernet {
                        XCTAssertEqual(p.ethernet?.source, BuiltFrames.macA, n)
                        XCTAssertEqual(p.ethernet?.destination, BuiltFrames.macB, n)
                    }
                    if case let .ethernet(_, _, vlans) = frame.builder.link {
                        XCTAssertEqual((0..<p.vlanTagCount).map { p.vlanTag($0)!.id }, vlans, n)
                    }
                    if let arp = p.arp {
                        XCTAssertEqual(arp.operation, 1, n)
                        XCTAssertEqual(arp.senderHardwareAddress, BuiltFrames.macA, n)
                        XCTAssertEqual(arp.senderProtocolAddress, BuiltFrames.ipA, n)
                        XCTAssertEqual(arp.targetProtocolAddress, BuiltFrames.ipB, n)
                        return
                    }
                    if let ip = p.ipv4 {
                        XCTAssertEqual(ip.source, BuiltFrames.ipA, n)
                        XCTAssertEqual(ip.destination, BuiltFrames.ipB, n)
                        XCTAssertEqual(ip.timeToLive, 33, n)
                        XCTAssertEqual(ip.identification, 77, n)
                        XCTAssertTrue(ip.dontFragment, n)
                        XCTAssertTrue(ip.headerChecksumIsValid, n)
                    } else if let ip = p.ipv6 {
                        XCTAssertEqual(ip.source, BuiltFrames.ip6A, n)
                        XCTAssertEqual(ip.destination, BuiltFrames.ip6B, n)
                        XCTAssertEqual(ip.hopLimit, 44, n)
                        XCTAssertEqual(ip.flowLabel, 0x12345, n)
                    } else {
                        XCTFail("\(n): no network layer")
                    }
                    XCTAssertEqual(p.transportChecksumIsValid, true, n)
                    XCTAssertEqual(Array(p.payload.withUnsafeBytes { Array($0) }), Array("swiftcap built this frame".utf8), n)
                    if let t = p.tcp {
                        XCTAssertEqual(t.sourcePort, 40000, n)
                        XCTAssertEqual(t.sequenceNumber, 1000, n)
                        XCTAssertEqual(t.acknowledgmentNumber, 2000, n)
                        XCTAssertEqual(t.flags, [.syn, .ack], n)
                        XCTAssertEqual(t.window, 29200, n)
                        var options: [TCPOption] = []
                        t.forEachOption { options.append($0) }
                        XCTAssertEqual(options, [.maximumSegmentSize(1460), .sackPermitted, .timestamps(value: 7, echoReply: 9),
                                                 .noOperation, .windowScale(7), .noOperation, .noOperation,
                                                 .selectiveAcknowledgment(TCPSACKBlocks([(left: 2100, right: 2200)]))], n)
                    } else if let u = p.udp {
                        XCTAssertEqual(u.sourcePort, 5555, n)
                        XCTAssertEqual(u.destinationPort, 9999, n)
                        XCTAssertEqual(Int(u.length), 8 + 25, n)
                    } else if let i = p.icmp {
                        XCTAssertEqual(i.type, 8, n)
                        XCTAssertEqual(i.identifier, 7, n)
                        XCTAssertEqual(i.sequenceNumber, 3, n)
                    } else if let i = p.icmpv6 {
                        XCTAssertEqual(i.type, 129, n)
                        XCTAssertEqual(i.identifier, 8, n)
                        XCTAssertEqual(i.sequenceNumber, 4, n)
                    } else {
                        XCTFail("\(n): no transport layer")
                    }
                }
            }
        }
    }

    /// A frame cut at every length ends at the layer the cut is in, as a truncation; never a crash.
    func testEveryTruncationEndsAtTheCutLayer() {
        for frame in BuiltFrames.all(links: [.ethernet(source: BuiltFrames.macA, destination: BuiltFrames.macB, vlanIDs: [5])]) {
            let bytes = frame.bytes
            let full = decode(bytes, frame.linkType)
            for length in 0..<bytes.count {
                let cut = decode(Array(bytes.prefix(length)), frame.linkType)
                let boundaries: [(Int, Layer)] = [(14, .ethernet), (18, .vlan), (full.network!.payloadOffset, full.network!.kind == .arp ? .arp : full.network!.kind == .ipv4 ? .ipv4 : .ipv6)]
                if let (_, layer) = boundaries.first(where: { length < $0.0 }) {
                    XCTAssertEqual(cut.end.layer, layer, "\(frame.name) cut to \(length): \(cut.end)")
                    guard case .truncated = cut.end.reason else { XCTFail("\(frame.name) cut to \(length): \(cut.end)"); continue }
                } else if let t = full.transport {
                    // Into the transport header: truncated at it (TCP/ICMP record what is there), or past it: complete.
                    if length < t.offset + t.headerLength {
                        guard case .truncated = cut.end.reason else { XCTFail("\(frame.name) cut to \(length): \(cut.end)"); continue }
                    } else {
                        XCTAssertEqual(cut.end.reason, .complete, "\(frame.name) cut to \(length)")
                    }
                }
            }
        }
    }

    /// Bad input tried, and the value the decoder answers with.
    ///
    /// | input | end |
    /// |---|---|
    /// | unknown link type 147 | unsupportedLinkType(147) at link |
    /// | EtherType 0x88B5 | unsupportedProtocol(0x88B5) at ethernet |
    /// | IPv4 header saying version 5 (LINKTYPE_IPV4) | badVersion(5) at ip |
    /// | IPv4 IHL 4 (16 bytes) | badHeaderLength(16) at ip |
    /// | IPv4 total length 10 < IHL | badLength(10) at ip |
    /// | IPv4 fragment at offset 1480 | laterFragment(1480) at ip |
    /// | TCP data offset 4 (16 bytes) | badHeaderLength(16) at tcp |
    /// | TCP data offset 15 in a 20-byte segment | truncated(60, 45) at tcp |
    /// | 9 stacked VLAN tags | nestedTooDeep at vlan |
    /// | IP-in-IP nested 5 deep | nestedTooDeep |
    /// | IPv6 header saying version 4 | badVersion(4) at ip6 |
    /// | raw IP version nibble 7 | unsupportedProtocol(7) at link |
    func testMalformedHeadersEndWithTheirReason() {
        let udp = PacketBuilder(link: .none, network: .ipv4(IPv4Fields(source: BuiltFrames.ipA, destination: BuiltFrames.ipB)),
                                transport: .udp(sourcePort: 1, destinationPort: 2), payload: [1, 2, 3]).build()
        let tcp = PacketBuilder(link: .none, network: .ipv4(IPv4Fields(source: BuiltFrames.ipA, destination: BuiltFrames.ipB)),
                                transport: .tcp(TCPFields(sourcePort: 1, destinationPort: 2))).build()
        func patched(_ bytes: [UInt8], _ changes: [Int: UInt8]) -> [UInt8] {
            var b = bytes
            for (i, v) in changes { b[i] = v }
            return b
        }
        let ether = [UInt8](repeating: 2, count: 12)
        var deepVLAN = ether
        for _ in 0..<9 { deepVLAN += [0x81, 0x00, 0x00, 0x01] }
        deepVLAN += [0x08, 0x00] + udp
        var nested = udp
        for _ in 0..<5 {
            nested = PacketBuilder(link: .none, network: .ipv4(IPv4Fields(source: BuiltFrames.ipA, destination: BuiltFrames.ipB, protocolNumber: 4)),
                                   payload: nested).build()
        }
        let v6 = PacketBuilder(link: .none, network: .ipv6(IPv6Fields(source: BuiltFrames.ip6A, destination: BuiltFrames.ip6B)),
                               transport: .udp(sourcePort: 1, destinationPort: 2)).build()
        let cases: [(String, [UInt8], UInt32, Layer?, DecodeEnd.Reason)] = [
            ("unknown link type", udp, 147, .link, .unsupportedLinkType(147)),
            ("unknown EtherType", ether + [0x88, 0xB5] + udp, 1, .ethernet, .unsupportedProtocol(0x88B5)),
            ("IPv4 version 5", patched(udp, [0: 0x55]), 228, .ipv4, .badVersion(5)),
            ("IPv4 IHL 4", patched(udp, [0: 0x44]), 101, .ipv4, .badHeaderLength(16)),
            ("IPv4 total length 10", patched(udp, [2: 0, 3: 10]), 101, .ipv4, .badLength(10)),
            ("later fragment", patched(udp, [6: 0x00, 7: 185]), 101, .ipv4, .laterFragment(offset: 1480)),
            ("TCP data offset 4", patched(tcp, [32: 0x40]), 101, .tcp, .badHeaderLength(16)),
            ("TCP data offset 15", patched(tcp, [32: 0xF0]), 101, .tcp, .truncated(needed: 60, available: 20)),
            ("9 VLAN tags", deepVLAN, 1, .vlan, .nestedTooDeep),
            ("IP-in-IP 5 deep", nested, 101, nil, .nestedTooDeep),
            ("IPv6 version 4", patched(v6, [0: 0x40]), 229, .ipv6, .badVersion(4)),
            ("raw version 7", patched(udp, [0: 0x75]), 101, .link, .unsupportedProtocol(7)),
        ]
        for (name, bytes, linkType, layer, reason) in cases {
            let end = decode(bytes, linkType).end
            XCTAssertEqual(end.reason, reason, name)
            if let layer { XCTAssertEqual(end.layer, layer, name) }
        }
    }
}
