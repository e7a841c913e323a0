import Foundation
import PacketDecoding
import TestSupport

/// Raw IP packets written byte by byte for the output tests, so that the cases tcpdump
/// prints specially (ICMP errors and what they carry, neighbour discovery options,
/// checksums right and wrong, headers cut short) are always in the file compared.
/// Checksums are computed here; tcpdump checks them on its own.
enum CraftedPackets {
    static let loopback4: [UInt8] = [127, 0, 0, 1]
    static let loopback6: [UInt8] = Array(repeating: 0, count: 15) + [1]
    static let linkLocal1 = address6("fe80::1"), linkLocal2 = address6("fe80::2")
    static let allNodes = address6("ff02::1"), allRouters = address6("ff02::2"), solicitedNode = address6("ff02::1:ff00:2")
    static let mac1: [UInt8] = [2, 0, 0, 0, 0, 1], mac2: [UInt8] = [2, 0, 0, 0, 0, 2]

    static func address6(_ text: String) -> [UInt8] {
        let a = IPv6Address(text)!
        return be64(a.high) + be64(a.low)
    }

    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func be32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (24 - 8 * $0) & 0xFF) } }
    static func be64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(v >> (56 - 8 * UInt64($0)) & 0xFF) } }

    static func checksum(_ parts: [UInt8]...) -> UInt16 {
        var sum = InternetChecksum()
        for part in parts { sum.add(part) }
        return sum.checksum
    }

    /// `bytes` with the checksum of `covered` (plus `pseudo`) stored at `offset`; `flip` spoils it.
    static func withChecksum(_ bytes: [UInt8], at offset: Int, pseudo: [UInt8] = [], udp: Bool = false, flip: UInt16 = 0) -> [UInt8] {
        var c = checksum(pseudo, bytes)
        if udp && c == 0 { c = 0xFFFF }
        c ^= flip
        var out = bytes
        out[offset] = UInt8(c >> 8)
        out[offset + 1] = UInt8(c & 0xFF)
        return out
    }

    static func ipv4(_ proto: UInt8, _ payload: [UInt8], id: Int = 1, dontFragment: Bool = true, tos: UInt8 = 0) -> [UInt8] {
        let header: [UInt8] = [0x45, tos] + be16(20 + payload.count) + be16(id) + [dontFragment ? 0x40 : 0, 0, 64, proto, 0, 0]
            + loopback4 + loopback4
        return withChecksum(header, at: 10) + payload
    }

    static func pseudo4(_ proto: UInt8, _ length: Int) -> [UInt8] { loopback4 + loopback4 + [0, proto] + be16(length) }

    static func udp4(_ source: Int, _ destination: Int, _ data: [UInt8], id: Int = 1) -> [UInt8] {
        let segment = be16(source) + be16(destination) + be16(8 + data.count) + [0, 0] + data
        return ipv4(17, withChecksum(segment, at: 6, pseudo: pseudo4(17, segment.count), udp: true), id: id)
    }

    static func tcp4(_ source: Int, _ destination: Int, id: Int = 1, data: [UInt8] = []) -> [UInt8] {
        let segment = be16(source) + be16(destination) + be32(1000) + be32(0) + [0x50, 0x02] + be16(65495) + [0, 0, 0, 0] + data
        return ipv4(6, withChecksum(segment, at: 16, pseudo: pseudo4(6, segment.count)), id: id)
    }

    /// An ICMP message: type, code, the 4 bytes after the checksum, then `data`.
    static func icmp4(_ type: UInt8, _ code: UInt8, _ rest: [UInt8], _ data: [UInt8], id: Int = 1, flip: UInt16 = 0) -> [UInt8] {
        ipv4(1, withChecksum([type, code, 0, 0] + rest + data, at: 2, flip: flip), id: id, dontFragment: false, tos: 0xC0)
    }

    static func ipv6(_ next: UInt8, _ payload: [UInt8], source: [UInt8] = loopback6, destination: [UInt8] = loopback6,
                     hopLimit: UInt8 = 64) -> [UInt8] {
        [0x60, 0, 0, 0] + be16(payload.count) + [next, hopLimit] + source + destination + payload
    }

    static func pseudo6(_ next: UInt8, _ length: Int, _ source: [UInt8], _ destination: [UInt8]) -> [UInt8] {
        source + destination + be32(UInt32(length)) + [0, 0, 0, next]
    }

    static func udp6(_ source: Int, _ destination: Int, _ data: [UInt8], flip: UInt16 = 0) -> [UInt8] {
        let segment = be16(source) + be16(destination) + be16(8 + data.count) + [0, 0] + data
        let pseudo = pseudo6(17, segment.count, loopback6, loopback6)
        return ipv6(17, withChecksum(segment, at: 6, pseudo: pseudo, udp: true, flip: flip))
    }

    static func tcp6(_ source: Int, _ destination: Int) -> [UInt8] {
        let segment = be16(source) + be16(destination) + be32(1000) + be32(0) + [0x50, 0x02] + be16(65495) + [0, 0, 0, 0]
        return ipv6(6, withChecksum(segment, at: 16, pseudo: pseudo6(6, segment.count, loopback6, loopback6)))
    }

    /// An ICMPv6 message: type, code, then `body` (everything after the checksum).
    static func icmp6(_ type: UInt8, _ code: UInt8, _ body: [UInt8], source: [UInt8] = loopback6,
                      destination: [UInt8] = loopback6, hopLimit: UInt8 = 64, flip: UInt16 = 0) -> [UInt8] {
        let message = [type, code, 0, 0] + body
        let pseudo = pseudo6(58, message.count, source, destination)
        return ipv6(58, withChecksum(message, at: 2, pseudo: pseudo, flip: flip), source: source, destination: destination,
                    hopLimit: hopLimit)
    }

    /// A neighbour-discovery option, padded to whole 8-byte units.
    static func option(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
        let length = (2 + body.count + 7) / 8 * 8
        return [type, UInt8(length / 8)] + body + [UInt8](repeating: 0, count: length - 2 - body.count)
    }

    /// A classic pcap of LINKTYPE_RAW packets, one second apart; `cut` packets keep only
    /// that many bytes (the wire length stays whole, as a snapshot length leaves it).
    static func writePcap(_ packets: [(bytes: [UInt8], cut: Int?)], prefix: String) throws -> String {
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> ($0 * 8)) & 0xFF) } }
        var file: [UInt8] = [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0] + [UInt8](repeating: 0, count: 8) + [0xFF, 0xFF, 0, 0, 101, 0, 0, 0]
        for (i, packet) in packets.enumerated() {
            let kept = Array(packet.bytes.prefix(packet.cut ?? packet.bytes.count))
            file += le32(1000 + i) + le32(0) + le32(kept.count) + le32(packet.bytes.count) + kept
        }
        let path = try makeTemporaryDirectory(prefix) + "/crafted.pcap"
        try Data(file).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// ICMP and ICMPv6 errors carrying whole packets (unreachable, redirect, parameter problem,
    /// source quench, time exceeded, packet too big), neighbour discovery with options,
    /// UDP over IPv6 with right and wrong checksums, a wrong ICMP checksum.
    static func verboseCases() -> [(bytes: [UInt8], cut: Int?)] {
        let na = be32(0x6000_0000) + linkLocal2 + option(2, mac2)
        let routerAdvertisement = [64, 0x80] + be16(1800) + be32(0) + be32(0) + option(1, mac2)
            + option(5, [0, 0] + be32(1500))
            + option(3, [64, 0xC0] + be32(2_592_000) + be32(604_800) + be32(0) + address6("2001:db8::"))
        let secondAdvertisement = [0, 0x78] + be16(0) + be32(30000) + be32(1000)
            + option(3, [48, 0] + be32(.max) + be32(.max) + be32(0) + address6("2001:db8::"))
            + option(25, [0, 0] + be32(600) + address6("2001:db8::53")) + option(7, [0, 0] + be32(4000))
        let packets: [[UInt8]] = [
            udp4(1000, 2000, Array("hello world".utf8)),
            udp6(1000, 2000, Array("hello world".utf8)),
            udp6(1000, 2000, Array("hello world".utf8), flip: 0x1111),
            icmp4(3, 3, [0, 0, 0, 0], udp4(1000, 2000, Array("hello".utf8), id: 7)),
            icmp4(3, 1, [0, 0, 0, 0], tcp4(1000, 2000, id: 8), id: 9),
            icmp4(11, 0, [0, 0, 0, 0], Array(icmp4(8, 0, [0, 5, 0, 6], Array("abcd".utf8), id: 3).prefix(28)), id: 10),
            icmp4(3, 4, [0, 0] + be16(1400), tcp4(1000, 2000, id: 8), id: 11),
            icmp4(3, 3, [0, 0, 0, 0], Array(tcp4(1000, 2000, id: 12).prefix(28)), id: 13),
            icmp4(8, 0, [0, 5, 0, 6], Array("abcd".utf8), flip: 0x1234),
            icmp4(5, 1, [127, 0, 0, 2], udp4(1000, 2000, Array("hi".utf8))),
            icmp4(12, 0, [8, 0, 0, 0], udp4(1000, 2000, Array("hi".utf8))),
            icmp4(4, 0, [0, 0, 0, 0], udp4(1000, 2000, Array("hi".utf8))),
            icmp6(1, 4, [0, 0, 0, 0] + udp6(1000, 2000, Array("hello".utf8))),
            icmp6(1, 3, [0, 0, 0, 0] + tcp6(1000, 2000)),
            icmp6(1, 0, [0, 0, 0, 0] + udp6(1000, 2000, Array("hello".utf8))),
            icmp6(1, 1, [0, 0, 0, 0] + udp6(1000, 2000, Array("hello".utf8))),
            icmp6(1, 2, [0, 0, 0, 0] + udp6(1000, 2000, Array("hello".utf8))),
            icmp6(2, 0, be32(1280) + udp6(1000, 2000, [UInt8](repeating: 0x78, count: 8))),
            icmp6(3, 0, [0, 0, 0, 0] + udp6(1000, 2000, Array("hi".utf8))),
            icmp6(4, 1, be32(6) + udp6(1000, 2000, Array("hello".utf8))),
            icmp6(135, 0, [0, 0, 0, 0] + linkLocal2 + option(1, mac1), source: linkLocal1, destination: solicitedNode, hopLimit: 255),
            icmp6(135, 0, [0, 0, 0, 0] + linkLocal2 + option(1, mac1), source: linkLocal1, destination: solicitedNode,
                  hopLimit: 255, flip: 0x1111),
            icmp6(136, 0, na, source: linkLocal2, destination: linkLocal1, hopLimit: 255),
            icmp6(136, 0, be32(0xE000_0000) + linkLocal2, source: linkLocal2, destination: allNodes, hopLimit: 255),
            icmp6(136, 0, be32(0) + linkLocal2 + option(2, mac2 + [1, 2, 3, 4, 5, 6, 7, 8]) + option(200, [UInt8](repeating: 0xAA, count: 14)),
                  source: linkLocal2, destination: linkLocal1, hopLimit: 255),
            icmp6(133, 0, [0, 0, 0, 0] + option(1, mac1), source: linkLocal1, destination: allRouters, hopLimit: 255),
            icmp6(133, 0, [0, 0, 0, 0], source: linkLocal1, destination: allRouters, hopLimit: 255),
            icmp6(134, 0, routerAdvertisement, source: linkLocal2, destination: allNodes, hopLimit: 255),
            icmp6(134, 0, secondAdvertisement, source: linkLocal2, destination: allNodes, hopLimit: 255),
            icmp6(134, 0, [1, 0x08] + be16(0) + be32(0) + be32(0), source: linkLocal2, destination: allNodes, hopLimit: 255),
            icmp6(137, 0, [0, 0, 0, 0] + linkLocal2 + address6("2001:db8::9") + option(1, mac2),
                  source: linkLocal1, destination: linkLocal2, hopLimit: 255),
            // Options cut: a zero length, and one running past the message.
            icmp6(135, 0, [0, 0, 0, 0] + linkLocal2 + [1, 0, 2, 0, 0, 0, 0, 0], source: linkLocal1, destination: solicitedNode, hopLimit: 255),
            icmp6(135, 0, [0, 0, 0, 0] + linkLocal2 + [1, 1, 2], source: linkLocal1, destination: solicitedNode, hopLimit: 255),
            icmp6(128, 0, [0, 1, 0, 2] + Array("ping".utf8), source: linkLocal1, destination: linkLocal2),
            icmp6(129, 0, [0, 1, 0, 2] + Array("ping".utf8), source: linkLocal1, destination: linkLocal2, flip: 0x1111),
        ]
        return packets.map { ($0, nil) }
    }

    /// Transport headers cut by the snapshot length at each place tcpdump prints differently.
    static func truncatedCases() -> [(bytes: [UInt8], cut: Int?)] {
        let data = [UInt8](repeating: 0x78, count: 100)
        return [
            (tcp4(1000, 2000, data: data), 30), (tcp4(1000, 2000, data: data), 22),
            (udp4(1000, 2000, data), 26), (udp4(1000, 2000, data), 22),
            (icmp4(8, 0, [0, 1, 0, 2], data), 25),
            (icmp4(3, 3, [0, 0, 0, 0], udp4(1000, 2000, data)), 50), (icmp4(3, 3, [0, 0, 0, 0], udp4(1000, 2000, data)), 40),
            (tcp6(1000, 2000), 42), (udp6(1000, 2000, data), 42), (udp6(1000, 2000, data), 46),
            (icmp6(128, 0, [0, 1, 0, 2] + data), 42), (icmp6(128, 0, [0, 1, 0, 2] + data), 41),
        ]
    }
}
