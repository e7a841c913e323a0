// libFuzzer target: arbitrary bytes through the packet decoder.
// Built by Tests/Fuzz/run.sh together with Sources/PacketDecoding/*.swift.
//
// Input: one byte choosing the link type (index into `linkTypes`), then the packet.
// Properties checked beyond "no crash, no out-of-bounds access":
// - every layer the walk records lies inside the packet, in order, and the end
//   offset is inside it too;
// - every accessor of every header view can be read (each read is bounds-checked);
// - decoding is deterministic (two walks give equal layers), and the one-pass
//   common-case path (Ethernet + IPv4/IPv6 + TCP/UDP) gives what the general walk gives;
// - an ICMP/ICMPv6 error's embedded packet decodes under the same rules.

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

let linkTypes: [UInt32] = [1, 0, 108, 101, 12, 14, 228, 229, 113, 276, 147]

func checkLayers(_ layers: PacketLayers, count: Int) {
    check(layers.end.offset >= 0 && layers.end.offset <= count, "end offset \(layers.end) outside 0...\(count)")
    var floor = 0
    if let link = layers.link {
        check(link.headerLength <= count, "link header \(link) past \(count)")
        check(link.vlanOffset + 4 * link.vlanTagCount <= count, "VLAN tags past \(count)")
        floor = link.headerLength
    }
    for network in [layers.network, layers.innerNetwork].compactMap({ $0 }) {
        check(network.offset >= floor && network.offset + network.headerLength <= network.end && network.end <= count,
              "network \(network) outside \(floor)...\(count)")
        floor = network.offset
    }
    if let transport = layers.transport {
        check(transport.offset >= floor && transport.offset + transport.headerLength <= transport.end && transport.end <= count,
              "transport \(transport) outside \(floor)...\(count)")
    }
}

/// Reads every field a user can reach; returns a number so nothing is optimised away.
func touchEverything(_ packet: borrowing DecodedPacket, depth: Int) -> Int {
    checkLayers(packet.layers, count: packet.bytes.byteCount)
    var sum = 0
    if let e = packet.ethernet { sum &+= Int(e.source.rawValue &+ e.destination.rawValue) &+ Int(e.typeOrLength) }
    for i in 0..<packet.vlanTagCount { sum &+= Int(packet.vlanTag(i)!.id) }
    if let l = packet.llc { sum &+= Int(l.destinationSAP) &+ Int(l.snapProtocol ?? 0) &+ Int(l.snapOrganizationCode ?? 0) }
    if let c = packet.linuxCooked {
        sum &+= Int(c.packetType) &+ Int(c.hardwareType) &+ c.linkAddressLength &+ Int(c.protocolType)
        sum &+= Int(truncatingIfNeeded: c.linkAddressPrefix) &+ Int(c.sourceMAC?.rawValue ?? 0) &+ Int(c.interfaceIndex ?? 0)
    }
    sum &+= Int(packet.loopbackFamily ?? 0)
    if let a = packet.arp {
        sum &+= Int(a.operation) &+ Int(a.hardwareType) &+ a.length
        sum &+= Int(a.senderProtocolAddress?.rawValue ?? 0) &+ Int(a.targetHardwareAddress?.rawValue ?? 0)
    }
    for inner in [false, true] {
        if let ip = inner ? packet.innerIPv4 : packet.ipv4 {
            sum &+= Int(ip.source.rawValue) &+ Int(ip.totalLength) &+ Int(ip.timeToLive) &+ ip.options.byteCount
            sum &+= ip.headerChecksumIsValid ? 1 : 0
        }
        if let ip = inner ? packet.innerIPv6 : packet.ipv6 {
            sum &+= Int(truncatingIfNeeded: ip.source.low) &+ Int(ip.flowLabel) &+ Int(ip.fragmentIdentification ?? 0)
            let chain = ip.layer.headerLength
            ip.forEachExtensionHeader { type, offset, length in
                check(offset + length <= chain, "extension header past the chain")
                sum &+= Int(type)
            }
        }
    }
    if let g = packet.gre { sum &+= Int(g.protocolType) &+ Int(g.key ?? 0) &+ Int(g.sequenceNumber ?? 0) }
    if let t = packet.tcp {
        sum &+= Int(t.sequenceNumber) &+ Int(t.flags.rawValue) &+ t.payloadLength
        t.forEachOption { option in
            if case let .selectiveAcknowledgment(blocks) = option {
                for i in 0..<blocks.count { sum &+= Int(blocks[i].left) }
            }
            sum &+= option.hashValue & 1
        }
    }
    if let u = packet.udp { sum &+= Int(u.length) &+ Int(u.checksum) }
    if let i = packet.icmp {
        sum &+= Int(i.type) &+ Int(i.identifier ?? 0) &+ Int(i.gateway?.rawValue ?? 0) &+ Int(i.nextHopMTU ?? 0)
        if depth < 3, let inner = i.embeddedPacket { sum &+= touchEverything(inner, depth: depth + 1) }
    }
    if let i = packet.icmpv6 {
        sum &+= Int(i.type) &+ Int(i.sequenceNumber ?? 0) &+ Int(i.mtu ?? 0) &+ Int(i.neighborAdvertisementFlags ?? 0)
        sum &+= Int(truncatingIfNeeded: i.targetAddress?.high ?? 0) &+ Int(i.linkLayerAddressOption(1)?.rawValue ?? 0)
        if depth < 3, let inner = i.embeddedPacket { sum &+= touchEverything(inner, depth: depth + 1) }
    }
    sum &+= packet.payload.byteCount
    sum &+= packet.transportChecksumIsValid == true ? 1 : 0
    return sum
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let linkType = linkTypes[Int(data[0]) % linkTypes.count]
    // The packet in its own malloc block, so any read past it is an ASan report.
    let count = size - 1
    let copy = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 1)
    defer { copy.deallocate() }
    copy.copyMemory(from: data + 1, byteCount: count)
    let buffer = UnsafeRawBufferPointer(start: copy, count: count)
    let sum = DecodedPacket.withDecoded(unsafeBytes: buffer, linkType: linkType) { packet in
        let again = PacketLayers.decode(packet.bytes, linkType: linkType)
        check(again == packet.layers, "two walks differ")
        // Ethernet takes the one-pass common-case path when it can: the general walk must agree.
        var walked = PacketLayers(linkType: 0)
        PacketLayers.decodeByWalk(packet.bytes, linkType: linkType, into: &walked)
        check(walked == packet.layers, "the common-case path and the general walk differ")
        return touchEverything(packet, depth: 0)
    }
    return sum == 42 ? 0 : 0
}
