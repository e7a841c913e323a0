import Foundation
import PacketCapture
import XCTest

/// Differential tests: for each expression, the program tcpdump (libpcap) compiles,
/// run by our interpreter over crafted capture files, must accept exactly the
/// records tcpdump's own filter accepts. Files only; nothing touches the network.
final class BPFTcpdumpTests: XCTestCase {
    /// A network-layer packet, wrapped in each link-layer header under test.
    struct NetworkPacket {
        var note: String
        var etherType: Int
        var bytes: [UInt8]
        /// Captured bytes of the network-layer part when the capture is truncated.
        var capture: Int?
        init(_ note: String, _ etherType: Int, _ bytes: [UInt8], capture: Int? = nil) {
            self.note = note
            self.etherType = etherType
            self.bytes = bytes
            self.capture = capture
        }
    }

    static let networkPackets: [NetworkPacket] = {
        typealias C = BPFCraft
        func v4(_ src: String, _ dst: String, _ proto: UInt8, ttl: UInt8 = 64, frag: Int = 0x4000, options: [UInt8] = [], _ payload: [UInt8]) -> [UInt8] {
            C.ipv4(src: src, dst: dst, proto: proto, ttl: ttl, flagsAndOffset: frag, options: options, payload)
        }
        let ip = 0x0800, ip6 = 0x86DD, arp = 0x0806
        return [
            NetworkPacket("v4 tcp syn :40000 > :80", ip, v4("10.0.0.1", "10.0.0.2", 6, C.tcp(40000, 80, flags: C.syn))),
            NetworkPacket("v4 tcp syn-ack :80 > :40000", ip, v4("10.0.0.2", "10.0.0.1", 6, ttl: 128, C.tcp(80, 40000, flags: C.syn | C.ack))),
            NetworkPacket("v4 tcp ack 200 bytes :443", ip, v4("10.0.0.1", "10.0.0.9", 6, C.tcp(40001, 443, flags: C.ack, payload: 200))),
            NetworkPacket("v4 tcp fin-ack :22", ip, v4("192.168.1.10", "10.0.0.1", 6, ttl: 255, C.tcp(22, 50000, flags: C.fin | C.ack))),
            NetworkPacket("v4 tcp rst :8080", ip, v4("172.16.5.4", "10.0.0.1", 6, ttl: 32, C.tcp(8080, 40002, flags: C.rst))),
            NetworkPacket("v4 tcp psh-ack with IP options :80", ip,
                          v4("10.0.0.1", "10.0.0.2", 6, options: [0x94, 0x04, 0, 0], C.tcp(40000, 80, flags: C.psh | C.ack, payload: 40))),
            NetworkPacket("v4 tcp 60-byte IP header", ip,
                          v4("10.0.0.7", "10.0.0.2", 6, options: Array(repeating: 1, count: 40), C.tcp(1234, 80, flags: C.syn))),
            NetworkPacket("v4 udp mdns :5353", ip, v4("192.168.1.10", "224.0.0.251", 17, ttl: 1, C.udp(5353, 5353, payload: 30))),
            NetworkPacket("v4 udp dns :53", ip, v4("10.0.0.1", "10.0.0.53", 17, C.udp(33333, 53, payload: 32))),
            NetworkPacket("v4 udp loopback :1000 > :2000", ip, v4("127.0.0.1", "127.0.0.1", 17, C.udp(1000, 2000, payload: 100))),
            NetworkPacket("v4 icmp echo", ip, v4("10.0.0.1", "10.0.0.2", 1, C.icmp(type: 8, payload: 56))),
            NetworkPacket("v4 icmp echo reply", ip, v4("10.0.0.2", "10.0.0.1", 1, ttl: 63, C.icmp(type: 0, payload: 56))),
            NetworkPacket("v4 icmp echo, 20 bytes of trailer", ip, v4("10.0.0.2", "10.0.0.1", 1, C.icmp(type: 8)) + [UInt8](repeating: 0, count: 20)),
            NetworkPacket("v4 icmp unreachable", ip, v4("10.0.0.254", "10.0.0.1", 1, ttl: 255, C.icmp(type: 3, code: 3, payload: 28))),
            NetworkPacket("v4 first fragment udp :53", ip, v4("10.0.0.1", "10.0.0.53", 17, frag: 0x2000, C.udp(33334, 53, payload: 1400))),
            NetworkPacket("v4 later fragment", ip, v4("10.0.0.1", "10.0.0.53", 17, frag: 185, Array(C.udp(53, 53, payload: 60)))),
            NetworkPacket("v6 tcp syn :80", ip6, C.ipv6(src: "fd00::1", dst: "fd00::2", next: 6, C.tcp(40000, 80, flags: C.syn))),
            NetworkPacket("v6 udp :53 to ::1", ip6, C.ipv6(src: "2001:db8::5", dst: "::1", next: 17, C.udp(5000, 53, payload: 20))),
            NetworkPacket("v6 icmp6 echo", ip6, C.ipv6(src: "fd00::1", dst: "fd00::2", next: 58, C.icmp(type: 128, payload: 32))),
            NetworkPacket("v6 hop-by-hop then tcp :443", ip6,
                          C.ipv6(src: "fd00::2", dst: "2001:db8::1", next: 0, C.ipv6Extension(next: 6, C.tcp(443, 40003, flags: C.ack)))),
            NetworkPacket("v6 hop-by-hop, dstopts then udp :5555", ip6,
                          C.ipv6(src: "fd00::2", dst: "2001:db8::1", next: 0,
                                 C.ipv6Extension(next: 60, C.ipv6Extension(next: 17, C.udp(5555, 5556, payload: 8))))),
            NetworkPacket("v4 tcp truncated after IP header", ip, v4("10.0.0.1", "10.0.0.2", 6, C.tcp(40000, 80, flags: C.syn, payload: 6)), capture: 20),
            NetworkPacket("v4 tcp truncated inside TCP header", ip, v4("10.0.0.1", "10.0.0.2", 6, C.tcp(40000, 80, flags: C.syn)), capture: 26),
            NetworkPacket("v4 tcp jumbo, 128 bytes captured", ip, v4("10.0.0.1", "10.0.0.2", 6, C.tcp(40004, 80, flags: C.ack, payload: 8960)), capture: 128),
            NetworkPacket("v4 udp 1500 bytes", ip, v4("10.0.0.3", "10.0.0.1", 17, C.udp(6000, 5001, payload: 1472))),
            NetworkPacket("v6 truncated in header", ip6, C.ipv6(src: "fd00::1", dst: "fd00::2", next: 6, C.tcp(1, 80, flags: C.syn)), capture: 30),
            NetworkPacket("arp request", arp, C.arp(op: 1, senderMAC: "02:00:00:00:00:01", senderIP: "10.0.0.1",
                                                    targetMAC: "00:00:00:00:00:00", targetIP: "10.0.0.2")),
            NetworkPacket("arp reply", arp, C.arp(op: 2, senderMAC: "02:00:00:00:00:02", senderIP: "10.0.0.2",
                                                  targetMAC: "02:00:00:00:00:01", targetIP: "10.0.0.1")),
        ]
    }()

    static let ethernetOnlyRecords: [BPFTestRecord] = {
        typealias C = BPFCraft
        let tcp80 = C.ipv4(src: "10.0.0.1", dst: "10.0.0.2", proto: 6, C.tcp(40010, 80, flags: C.syn))
        let udp53 = C.ipv4(src: "10.0.0.5", dst: "10.0.0.53", proto: 17, C.udp(40011, 53, payload: 12))
        let udp6 = C.ipv6(src: "fd00::9", dst: "fd00::1", next: 17, C.udp(7000, 7001, payload: 4))
        return [
            BPFTestRecord("vlan 100 v4 tcp :80", C.ethernet(type: 0x0800, vlans: [(0x8100, 100)], tcp80)),
            BPFTestRecord("vlan 200 v4 udp :53", C.ethernet(type: 0x0800, vlans: [(0x8100, 0x2000 | 200)], udp53)),
            BPFTestRecord("vlan 100 v6 udp", C.ethernet(type: 0x86DD, vlans: [(0x8100, 100)], udp6)),
            BPFTestRecord("qinq 300/100 v4 tcp :80", C.ethernet(type: 0x0800, vlans: [(0x88A8, 300), (0x8100, 100)], tcp80)),
            BPFTestRecord("vlan 100 arp", C.ethernet(dst: "ff:ff:ff:ff:ff:ff", type: 0x0806, vlans: [(0x8100, 100)],
                                                  C.arp(op: 1, senderMAC: "02:00:00:00:00:05", senderIP: "10.0.0.5",
                                                        targetMAC: "00:00:00:00:00:00", targetIP: "10.0.0.1"))),
            BPFTestRecord("broadcast arp", C.ethernet(dst: "ff:ff:ff:ff:ff:ff", src: "02:00:00:00:00:03", type: 0x0806,
                                                   C.arp(op: 1, senderMAC: "02:00:00:00:00:03", senderIP: "10.0.0.3",
                                                         targetMAC: "00:00:00:00:00:00", targetIP: "10.0.0.1"))),
            BPFTestRecord("multicast lldp", C.ethernet(dst: "01:80:c2:00:00:0e", src: "02:00:00:00:00:04", type: 0x88CC, BPFCraft.filler(40))),
            BPFTestRecord("802.3 llc stp", C.ethernet(dst: "01:80:c2:00:00:00", src: "02:00:00:00:00:04", type: 38,
                                                   [0x42, 0x42, 0x03] + BPFCraft.filler(35))),
            BPFTestRecord("runt 10 bytes", Array(C.ethernet(type: 0x0800, tcp80).prefix(10))),
            BPFTestRecord("nothing captured, 200 on the wire", C.ethernet(type: 0x0800, udp53), capture: 0),
            BPFTestRecord("padded 60-byte icmp", C.ethernet(type: 0x0800, C.ipv4(src: "10.0.0.2", dst: "10.0.0.1", proto: 1, C.icmp(type: 0)) + [UInt8](repeating: 0, count: 18))),
        ]
    }()

    static func ethernetRecords() -> [BPFTestRecord] {
        networkPackets.map {
            BPFTestRecord($0.note, BPFCraft.ethernet(type: $0.etherType, $0.bytes), capture: $0.capture.map { $0 + 14 })
        } + ethernetOnlyRecords
    }

    static func rawRecords() -> [BPFTestRecord] {
        networkPackets.filter { $0.etherType != 0x0806 }.map { BPFTestRecord($0.note, $0.bytes, capture: $0.capture) }
    }

    static func sllRecords() -> [BPFTestRecord] {
        networkPackets.enumerated().map { i, p in
            BPFTestRecord(p.note, BPFCraft.sll(protocol: p.etherType, packetType: i % 5 == 4 ? 4 : 0, p.bytes), capture: p.capture.map { $0 + 16 })
        }
    }

    static func sll2Records() -> [BPFTestRecord] {
        networkPackets.enumerated().map { i, p in
            BPFTestRecord(p.note, BPFCraft.sll2(protocol: p.etherType, packetType: i % 5 == 4 ? 4 : 0, p.bytes), capture: p.capture.map { $0 + 20 })
        }
    }

    /// Expressions meaningful on every link type that carries IP.
    static let ipExpressions = [
        "ip", "ip6", "tcp", "udp", "icmp", "icmp6", "not tcp",
        "tcp port 80", "udp port 53", "port 53", "src port 40000", "dst port 80", "tcp port 80 or udp port 53",
        "host 10.0.0.1", "src host 10.0.0.2", "dst host 10.0.0.2", "host 127.0.0.1",
        "net 172.16.0.0/12", "net 10.0.0.0/8 and not host 10.0.0.53", "dst net 224.0.0.0/4",
        "ip6 host ::1", "ip6 net fd00::/8", "ip6 and tcp port 80", "ip6 and udp",
        "len > 100", "less 60", "greater 1000", "len >= 9000",
        "ip[8] > 63", "ip[8] = 1", "ip[0] & 0xf > 5", "ip[6:2] & 0x1fff != 0", "ip[6] & 0x20 != 0",
        "tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
        "tcp[tcpflags] & tcp-rst != 0", "tcp[tcpflags] & (tcp-fin|tcp-rst) != 0", "tcp[13] = 2",
        "tcp[0:4] = 0x9c400050", "tcp[20:4] != 0", "udp[8:2] = 0x030a",
        "portrange 5000-6000", "tcp portrange 1-1023",
        "icmp[icmptype] == icmp-echo", "icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply",
        "ip protochain 17", "ip6 protochain 6", "ip6 protochain 17", "proto 6",
        "udp and ip[2:2] > 100",
        "ip[2:2] - ((ip[0] & 0xf) * 4) > 100", "ip[2:2] / 4 > 10", "ip[2:2] % 7 = 3",
        "(ip[8] << 2) > 200", "(ip[8] >> 1) & 1 = 1", "ip[8] ^ 0xff = 0xbf", "ip[8] | 1 = 65", "ip and -ip[8] = 0xffffffc0",
        "ip[2:2] * 2 > len", "ip[2:2] / (ip[8] - 63) > 1", "ip[2:2] % (ip[8] - 63) = 0",
        "(ip[2:2] << (ip[8] - 30)) != 0", "(ip[2:2] >> (ip[8] & 0x3f)) != 0",
        "ip[ip[0] & 0xf] != 0", "ip[9] = ip[9]", "ip and len - ip[2:2] > 15",
        "(tcp or udp) and not (port 80 or port 53)",
    ]

    static let ethernetExpressions = ipExpressions + [
        "arp", "not ip", "arp host 10.0.0.2", "arp[6:2] = 2",
        "vlan", "vlan and tcp", "vlan 100", "vlan 200 and udp port 53", "vlan and vlan", "vlan and ip6",
        "ether host 02:00:00:00:00:01", "ether src 02:00:00:00:00:03", "ether broadcast", "ether multicast",
        "ether proto 0x88cc", "ether[12:2] < 1500", "llc", "stp", "ether[100:4] != 0", "ether[0] & 1 = 1",
    ]

    static let cookedExpressions = ipExpressions + ["arp", "not ip", "arp host 10.0.0.2", "inbound", "outbound"]

    func testEthernet() throws {
        try differential(linkType: 1, records: Self.ethernetRecords(), expressions: Self.ethernetExpressions)
    }

    func testRawIP() throws {
        try differential(linkType: 101, records: Self.rawRecords(), expressions: Self.ipExpressions)
    }

    func testLinuxSLL() throws {
        try differential(linkType: 113, records: Self.sllRecords(), expressions: Self.cookedExpressions)
    }

    func testLinuxSLL2() throws {
        try differential(linkType: 276, records: Self.sll2Records(), expressions: Self.cookedExpressions)
    }

    /// Compares, for every expression and with and without optimization, the records
    /// our interpreter accepts with those tcpdump accepts.
    func differential(linkType: UInt32, records: [BPFTestRecord], expressions: [String],
                      file: StaticString = #filePath, line: UInt = #line) throws {
        guard BPFTcpdump.path != nil else { return XCTFail(BPFTcpdump.missing, file: file, line: line) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcap-bpf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("linktype-\(linkType).pcap").path
        try Data(bpfTestPcap(linkType: linkType, records: records)).write(to: URL(fileURLWithPath: path))

        var vacuous: [String] = []
        for expression in expressions {
            let expected = try BPFTcpdump.matchingIndices(file: path, expression: expression)
            let count = try BPFTcpdump.count(file: path, expression: expression)
            XCTAssertEqual(count, expected.count, "tcpdump --count disagrees with tcpdump -w for '\(expression)'", file: file, line: line)
            if expected.isEmpty || expected.count == records.count { vacuous.append(expression) }

            for optimize in [true, false] {
                let instructions = try BPFTcpdump.program(file: path, expression: expression, optimize: optimize)
                let program: BPFProgram
                do {
                    program = try BPFProgram(instructions: instructions)
                } catch {
                    XCTFail("'\(expression)'\(optimize ? "" : " -O"): tcpdump's program rejected: \(error)", file: file, line: line)
                    continue
                }
                let ours = records.indices.filter { i in
                    records[i].bytes.withUnsafeBytes { program.run($0, wireLength: records[i].wireLength) } != 0
                }
                XCTAssertEqual(ours.count, count, "'\(expression)'\(optimize ? "" : " -O"): match count", file: file, line: line)
                if ours != expected {
                    let describe = { (s: [Int]) in s.map { "\($0) (\(records[$0].note))" }.joined(separator: ", ") }
                    XCTFail("""
                        '\(expression)'\(optimize ? "" : " -O") on link type \(linkType): matching records differ
                          only tcpdump: \(describe(expected.filter { !ours.contains($0) }))
                          only ours: \(describe(ours.filter { !expected.contains($0) }))
                        """, file: file, line: line)
                }
            }
        }
        // Each expression must split the file, or it proves little.
        XCTAssertEqual(vacuous, [], "expressions matching no record or every record on link type \(linkType)", file: file, line: line)
    }

    /// The accept length is the program's return value, as in libpcap (the snapshot length).
    func testAcceptLengthIsTheReturnValue() throws {
        guard BPFTcpdump.path != nil else { return XCTFail(BPFTcpdump.missing) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcap-bpf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("snap.pcap").path
        let records = Self.ethernetRecords()
        try Data(bpfTestPcap(linkType: 1, snapshotLength: 96, records: records)).write(to: URL(fileURLWithPath: path))
        let program = try BPFProgram(instructions: BPFTcpdump.program(file: path, expression: "tcp", optimize: true))
        let accepted = records.map { r in r.bytes.withUnsafeBytes { program.run($0, wireLength: r.wireLength) } }
        XCTAssertEqual(Set(accepted), [0, 96])
    }
}
