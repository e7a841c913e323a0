import Foundation
import PacketCapture
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

// MARK: Building programs

/// Opcode parts (the `BPF_*` macros of <pcap/bpf.h>), for hand-built programs.
enum BPF {
    static let ld: UInt16 = 0x00, ldx: UInt16 = 0x01, st: UInt16 = 0x02, stx: UInt16 = 0x03
    static let alu: UInt16 = 0x04, jmp: UInt16 = 0x05, ret: UInt16 = 0x06, misc: UInt16 = 0x07
    static let w: UInt16 = 0x00, h: UInt16 = 0x08, b: UInt16 = 0x10
    static let imm: UInt16 = 0x00, abs: UInt16 = 0x20, ind: UInt16 = 0x40, mem: UInt16 = 0x60
    static let len: UInt16 = 0x80, msh: UInt16 = 0xA0
    static let add: UInt16 = 0x00, sub: UInt16 = 0x10, mul: UInt16 = 0x20, div: UInt16 = 0x30
    static let or: UInt16 = 0x40, and: UInt16 = 0x50, lsh: UInt16 = 0x60, rsh: UInt16 = 0x70
    static let neg: UInt16 = 0x80, mod: UInt16 = 0x90, xor: UInt16 = 0xA0
    static let ja: UInt16 = 0x00, jeq: UInt16 = 0x10, jgt: UInt16 = 0x20, jge: UInt16 = 0x30, jset: UInt16 = 0x40
    static let k: UInt16 = 0x00, x: UInt16 = 0x08, a: UInt16 = 0x10
    static let tax: UInt16 = 0x00, txa: UInt16 = 0x80
}

/// Shorthand for one instruction.
func I(_ code: UInt16, _ k: UInt32 = 0, jt: UInt8 = 0, jf: UInt8 = 0) -> BPFInstruction {
    BPFInstruction(code: code, jt: jt, jf: jf, k: k)
}

/// A program that must validate.
func bpfProgram(_ instructions: [BPFInstruction], file: StaticString = #filePath, line: UInt = #line) -> BPFProgram? {
    do {
        return try BPFProgram(instructions: instructions)
    } catch {
        XCTFail("program rejected: \(error)", file: file, line: line)
        return nil
    }
}

extension BPFProgram {
    /// Runs on an array; the wire length defaults to the captured length.
    func run(_ bytes: [UInt8], wireLength: Int? = nil) -> UInt32 {
        bytes.withUnsafeBytes { run($0, wireLength: wireLength ?? bytes.count) }
    }
}

// MARK: Crafting packets

/// Builders for the raw bytes of test packets. Checksums are left 0: filters never read them.
enum BPFCraft {
    static func be16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }

    static func mac(_ s: String) -> [UInt8] { s.split(separator: ":").map { UInt8($0, radix: 16)! } }
    static func ip4(_ s: String) -> [UInt8] { s.split(separator: ".").map { UInt8($0)! } }
    static func ip6(_ s: String) -> [UInt8] {
        var addr = in6_addr()
        precondition(inet_pton(AF_INET6, s, &addr) == 1, "bad IPv6 literal \(s)")
        return withUnsafeBytes(of: &addr) { Array($0) }
    }

    static func ethernet(dst: String = "02:00:00:00:00:02", src: String = "02:00:00:00:00:01",
                         type: Int, vlans: [(tpid: Int, tci: Int)] = [], _ payload: [UInt8]) -> [UInt8] {
        var out = mac(dst) + mac(src)
        for tag in vlans { out += be16(tag.tpid) + be16(tag.tci) }
        return out + be16(type) + payload
    }

    static func ipv4(src: String, dst: String, proto: UInt8, ttl: UInt8 = 64, tos: UInt8 = 0,
                     flagsAndOffset: Int = 0x4000, options: [UInt8] = [], id: Int = 1, _ payload: [UInt8]) -> [UInt8] {
        precondition(options.count % 4 == 0)
        let headerLength = 20 + options.count
        var h: [UInt8] = [0x40 | UInt8(headerLength / 4), tos]
        h += be16(headerLength + payload.count) + be16(id) + be16(flagsAndOffset)
        h += [ttl, proto, 0, 0] + ip4(src) + ip4(dst) + options
        return h + payload
    }

    static func ipv6(src: String, dst: String, next: UInt8, hopLimit: UInt8 = 64, _ payload: [UInt8]) -> [UInt8] {
        [0x60, 0, 0, 0] + be16(payload.count) + [next, hopLimit] + ip6(src) + ip6(dst) + payload
    }

    /// An IPv6 extension header (hop-by-hop, routing, destination options) of 8 bytes.
    static func ipv6Extension(next: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [next, 0, 1, 4, 0, 0, 0, 0] + payload
    }

    static let fin: UInt8 = 0x01, syn: UInt8 = 0x02, rst: UInt8 = 0x04, psh: UInt8 = 0x08, ack: UInt8 = 0x10

    static func tcp(_ sport: Int, _ dport: Int, flags: UInt8, payload: Int = 0) -> [UInt8] {
        be16(sport) + be16(dport) + be32(1000) + be32(flags & ack != 0 ? 2000 : 0)
            + [0x50, flags] + be16(65535) + [0, 0, 0, 0] + filler(payload)
    }

    static func udp(_ sport: Int, _ dport: Int, payload: Int = 0) -> [UInt8] {
        be16(sport) + be16(dport) + be16(8 + payload) + [0, 0] + filler(payload)
    }

    static func icmp(type: UInt8, code: UInt8 = 0, payload: Int = 0) -> [UInt8] {
        [type, code, 0, 0, 0, 1, 0, 1] + filler(payload)
    }

    static func arp(op: Int, senderMAC: String, senderIP: String, targetMAC: String, targetIP: String) -> [UInt8] {
        be16(1) + be16(0x0800) + [6, 4] + be16(op) + mac(senderMAC) + ip4(senderIP) + mac(targetMAC) + ip4(targetIP)
    }

    /// Linux cooked header v1 (LINKTYPE_LINUX_SLL).
    static func sll(protocol proto: Int, packetType: Int = 0, _ payload: [UInt8]) -> [UInt8] {
        be16(packetType) + be16(1) + be16(6) + mac("02:00:00:00:00:01") + [0, 0] + be16(proto) + payload
    }

    /// Linux cooked header v2 (LINKTYPE_LINUX_SLL2).
    static func sll2(protocol proto: Int, packetType: UInt8 = 0, _ payload: [UInt8]) -> [UInt8] {
        be16(proto) + [0, 0] + be32(2) + be16(1) + [packetType, 6] + mac("02:00:00:00:00:01") + [0, 0] + payload
    }

    static func filler(_ n: Int) -> [UInt8] { (0 ..< n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) } }
}

/// One record of a capture file: the captured bytes and the length on the wire.
struct BPFTestRecord {
    var bytes: [UInt8]
    var wireLength: Int
    var note: String

    init(_ note: String, _ bytes: [UInt8], capture: Int? = nil) {
        self.note = note
        self.wireLength = bytes.count
        self.bytes = capture.map { Array(bytes.prefix($0)) } ?? bytes
    }
}

/// A classic little-endian microsecond pcap file. Record i has timestamp i seconds,
/// so a filtered copy of the file says which records matched.
func bpfTestPcap(linkType: UInt32, snapshotLength: UInt32 = 262_144, records: [BPFTestRecord]) -> [UInt8] {
    func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    var out = le32(0xA1B2_C3D4) + le16(2) + le16(4) + le32(0) + le32(0) + le32(snapshotLength) + le32(linkType)
    for (index, record) in records.enumerated() {
        out += le32(UInt32(index)) + le32(0) + le32(UInt32(record.bytes.count)) + le32(UInt32(record.wireLength))
        out += record.bytes
    }
    return out
}

/// Record timestamps (seconds) of a classic pcap file in either byte order.
func bpfPcapRecordSeconds(_ file: [UInt8]) throws -> [UInt32] {
    struct Malformed: Error, CustomStringConvertible { var description: String }
    guard file.count >= 24 else { throw Malformed(description: "pcap output of \(file.count) bytes has no header") }
    func u32(_ at: Int, _ little: Bool) -> UInt32 {
        let v = UInt32(file[at]) | UInt32(file[at + 1]) << 8 | UInt32(file[at + 2]) << 16 | UInt32(file[at + 3]) << 24
        return little ? v : v.byteSwapped
    }
    let little: Bool
    switch u32(0, true) {
    case 0xA1B2_C3D4, 0xA1B2_3C4D: little = true
    case 0xD4C3_B2A1, 0x4D3C_B2A1: little = false
    default: throw Malformed(description: "not a pcap file (magic \(String(u32(0, true), radix: 16)))")
    }
    var seconds: [UInt32] = []
    var at = 24
    while at < file.count {
        guard at + 16 <= file.count else { throw Malformed(description: "truncated record header at \(at)") }
        let caplen = Int(u32(at + 8, little))
        guard at + 16 + caplen <= file.count else { throw Malformed(description: "truncated record at \(at)") }
        seconds.append(u32(at, little))
        at += 16 + caplen
    }
    return seconds
}

// MARK: Running tcpdump

enum BPFTcpdump {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// tcpdump's path, or nil when it is not installed.
    static let path: String? = {
        let env = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let dirs = env.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin", "/usr/local/bin"]
        return dirs.map { $0 + "/tcpdump" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static let missing = "tcpdump is not installed (apt-get install tcpdump); the differential BPF tests need it"

    /// Runs tcpdump and returns its standard output; throws when it exits nonzero.
    static func run(_ arguments: [String]) throws -> Data {
        guard let path else { throw Failure(description: missing) }
        let r = try runProcess([path] + arguments, timeout: 120)
        guard r.status == 0 else {
            throw Failure(description: "tcpdump \(arguments.joined(separator: " ")) exited \(r.status): \(r.stderr)")
        }
        return r.stdoutData
    }

    /// The program tcpdump compiles for `expression` against the file's link type.
    static func program(file: String, expression: String, optimize: Bool) throws -> [BPFInstruction] {
        let text = String(decoding: try run((optimize ? [] : ["-O"]) + ["-ddd", "-r", file, expression]), as: UTF8.self)
        let lines = text.split(separator: "\n")
        guard let first = lines.first, let count = Int(first), lines.count == count + 1 else {
            throw Failure(description: "unexpected -ddd output for \(expression): \(text)")
        }
        return try lines.dropFirst().map { line in
            let f = line.split(separator: " ").compactMap { UInt32($0) }
            guard f.count == 4 else { throw Failure(description: "bad -ddd line '\(line)'") }
            return BPFInstruction(code: UInt16(f[0]), jt: UInt8(f[1]), jf: UInt8(f[2]), k: f[3])
        }
    }

    /// How many records tcpdump's filter accepts (`--count`).
    static func count(file: String, expression: String) throws -> Int {
        let text = String(decoding: try run(["--count", "-r", file, expression]), as: UTF8.self)
        guard let n = text.split(separator: " ").first.flatMap({ Int($0) }), text.contains("packet") else {
            throw Failure(description: "unexpected --count output for \(expression): \(text)")
        }
        return n
    }

    /// Indices of the records tcpdump's filter accepts (via a filtered copy of the file).
    static func matchingIndices(file: String, expression: String) throws -> [Int] {
        try bpfPcapRecordSeconds(Array(try run(["-r", file, "-w", "-", expression]))).map { Int($0) }
    }
}
