import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

/// Filters on capture files compile as tcpdump -r compiles them (libpcap's
/// savefile semantics): BSD and macOS loopback captures in either byte order,
/// and link types whose LINKTYPE_ and DLT_ numbers differ (issue 11, items 1-2).
/// Every count is compared with tcpdump's on the same crafted file.
final class FileFilterSemanticsTests: XCTestCase {
    // MARK: Crafting

    /// A classic pcap file in the given byte order.
    private func pcap(linkType: UInt32, bigEndian: Bool, packets: [[UInt8]]) -> [UInt8] {
        func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: bigEndian ? v.bigEndian : v.littleEndian) { Array($0) } }
        func u16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: bigEndian ? v.bigEndian : v.littleEndian) { Array($0) } }
        var out = u32(0xA1B2_C3D4) + u16(2) + u16(4) + u32(0) + u32(0) + u32(262_144) + u32(linkType)
        for (i, p) in packets.enumerated() {
            out += u32(1_700_000_000 + UInt32(i)) + u32(0) + u32(UInt32(p.count)) + u32(UInt32(p.count))
            out += p
        }
        return out
    }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let dir = try makeTemporaryDirectory("swiftcap-semantics")
        addTeardownBlock { removeTemporary(dir) }
        let path = "\(dir)/\(name)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    private static let udpPayload: [UInt8] = Array("swiftcap".utf8)

    /// IPv4 UDP 10.0.0.1:1000 -> 10.0.0.2:53 (checksums not needed by filters).
    private static func ipv4UDP(protocolNumber: UInt8 = 17) -> [UInt8] {
        let total = UInt16(20 + 8 + udpPayload.count)
        var p: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0, 0, 64, protocolNumber, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
        p += [0x03, 0xE8, 0x00, 0x35, 0, UInt8(8 + udpPayload.count), 0, 0] + udpPayload
        return p
    }

    /// IPv6 UDP 2001:db8::1 -> 2001:db8::2, port 1000 -> 53.
    private static func ipv6UDP() -> [UInt8] {
        let length = UInt16(8 + udpPayload.count)
        var p: [UInt8] = [0x60, 0, 0, 0, UInt8(length >> 8), UInt8(length & 0xFF), 17, 64]
        p += [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
        p += [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [2]
        p += [0x03, 0xE8, 0x00, 0x35, 0, UInt8(length), 0, 0] + udpPayload
        return p
    }

    private func read(_ path: String, _ expression: String) throws -> Int {
        let r = try runProcess([try BuiltProducts.cli(), "read", "--helper", try BuiltProducts.helper(), path, "--count", expression],
                               timeout: 60)
        guard r.status == 0, let n = Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestSupportError("swiftcap read \(path) --count \(expression) failed (\(r.status)): \(r.stderr)")
        }
        return n
    }

    private func tcpdumpCount(_ path: String, _ expression: String) throws -> Int {
        let r = try runProcess(["/usr/bin/tcpdump", "-r", path, "--count", expression])
        guard r.status == 0, let n = Int(r.stdout.split(separator: " ").first ?? "") else {
            throw TestSupportError("tcpdump (installed by .ci/setup) failed on '\(expression)': \(r.stderr)")
        }
        return n
    }

    private static let expressions = ["ip6", "udp", "ip", "ip6 and udp", "udp port 53", "ip6 and src host 2001:db8::1", "tcp", "not ip6"]

    // MARK: Tests

    func testBSDAndMacOSLoopbackCapturesFilterAsTcpdumpFilters() throws {
        // The address family is in the writing host's byte order: AF_INET 2 everywhere,
        // AF_INET6 10 (Linux), 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS).
        var compared = 0
        for bigEndian in [false, true] {
            func family(_ af: UInt32) -> [UInt8] { withUnsafeBytes(of: bigEndian ? af.bigEndian : af.littleEndian) { Array($0) } }
            var packets = [family(2) + Self.ipv4UDP()]
            for af: UInt32 in [10, 24, 28, 30] { packets.append(family(af) + Self.ipv6UDP()) }
            for linkType: UInt32 in [0, 108] { // LINKTYPE_NULL (host order) and LINKTYPE_LOOP (network order)
                if linkType == 108 {
                    packets = [UInt32(2), 24, 28, 30].map { af in withUnsafeBytes(of: af.bigEndian) { Array($0) } + (af == 2 ? Self.ipv4UDP() : Self.ipv6UDP()) }
                }
                let path = try write(pcap(linkType: linkType, bigEndian: bigEndian, packets: packets),
                                     "loopback-\(linkType)-\(bigEndian ? "be" : "le").pcap")
                for expression in Self.expressions {
                    let theirs = try tcpdumpCount(path, expression)
                    XCTAssertEqual(try read(path, expression), theirs, "'\(expression)' on \(path)")
                    compared += 1
                }
                // The point of the fix: a BSD capture's IPv6 packets match ip6.
                if linkType == 0 {
                    XCTAssertGreaterThanOrEqual(try read(path, "ip6"), 3, "BSD/macOS AF_INET6 values missed in \(path)")
                }
            }
        }
        XCTAssertEqual(compared, 2 * 2 * Self.expressions.count)
    }

    func testLinkTypesWhoseDLTDiffersFilterAsTcpdumpFilters() throws {
        // LINKTYPE_ATM_CLIP (106, DLT 19): LLC/SNAP then IP. LINKTYPE_RAW (101, DLT 12 on Linux).
        let snap: [UInt8] = [0xAA, 0xAA, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00]
        let files: [(UInt32, [[UInt8]])] = [
            (106, [snap + Self.ipv4UDP(), snap + Self.ipv4UDP(protocolNumber: 6)]),
            (101, [Self.ipv4UDP(), Self.ipv6UDP(), Self.ipv4UDP(protocolNumber: 6)]),
            (228, [Self.ipv4UDP()]), // LINKTYPE_IPV4
            (229, [Self.ipv6UDP()]), // LINKTYPE_IPV6
        ]
        for (linkType, packets) in files {
            let path = try write(pcap(linkType: linkType, bigEndian: false, packets: packets), "linktype-\(linkType).pcap")
            for expression in ["ip", "udp", "tcp", "ip6", "udp port 53"] {
                let tcpdump = try runProcess(["/usr/bin/tcpdump", "-r", path, "--count", expression])
                if tcpdump.status != 0 {
                    // tcpdump refuses this expression on this link type: so must we.
                    let r = try runProcess([try BuiltProducts.cli(), "read", "--helper", try BuiltProducts.helper(), path, "--count", expression])
                    XCTAssertNotEqual(r.status, 0, "'\(expression)' on LINKTYPE \(linkType): tcpdump refuses it, swiftcap did not")
                    continue
                }
                XCTAssertEqual(try read(path, expression), try tcpdumpCount(path, expression), "'\(expression)' on LINKTYPE \(linkType)")
            }
        }
    }
}
