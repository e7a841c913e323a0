import Foundation
import Glibc
@_spi(Testing) import PacketCapture
import TestSupport
import XCTest

/// Captures and injections across a veth pair between two network namespaces
/// the test creates (and deletes). The helper runs inside a namespace through a
/// wrapper script (`ip netns exec NS helper`, same pid), so the library is used
/// in-process; one test runs the CLI under `ip netns exec` instead.
final class NamespaceTests: XCTestCase {
    /// Ethernet + IPv4 + UDP from A to B with `payload`.
    private func udpFrame(_ pair: NetworkNamespacePair, payload: [UInt8], dstPort: UInt16) throws -> [UInt8] {
        let srcMAC = try pair.macAddress(namespace: pair.namespaceA, interface: pair.interfaceA)
        let dstMAC = try pair.macAddress(namespace: pair.namespaceB, interface: pair.interfaceB)
        func ipv4(_ s: String) -> [UInt8] { s.split(separator: ".").map { UInt8($0)! } }
        let udpLength = 8 + payload.count
        var ip: [UInt8] = [0x45, 0, UInt8((20 + udpLength) >> 8), UInt8((20 + udpLength) & 0xFF), 0x12, 0x34, 0x40, 0, 64, 17, 0, 0]
        ip += ipv4(pair.addressA) + ipv4(pair.addressB)
        var sum: UInt32 = 0
        for i in stride(from: 0, to: 20, by: 2) { sum += UInt32(ip[i]) << 8 | UInt32(ip[i + 1]) }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        ip[10] = UInt8(checksum >> 8); ip[11] = UInt8(checksum & 0xFF)
        let udp: [UInt8] = [0x15, 0xB3, UInt8(dstPort >> 8), UInt8(dstPort & 0xFF), UInt8(udpLength >> 8), UInt8(udpLength & 0xFF), 0, 0]
        return dstMAC + srcMAC + [0x08, 0x00] + ip + udp + payload
    }

    private func options(_ pair: NetworkNamespacePair, namespace: String, _ configure: (inout CaptureOptions) -> Void = { _ in }) throws -> CaptureOptions {
        var o = CaptureOptions()
        o.helperPath = try pair.helperWrapper(namespace: namespace, helper: BuiltProducts.helper())
        configure(&o)
        return o
    }

    func testInjectOnOneEndCaptureOnTheOther() async throws {
        try requireRoot()
        let pair = try NetworkNamespacePair()
        defer { pair.cleanup() }
        let capture = try await LiveCapture.open(interface: pair.interfaceB, options: try options(pair, namespace: pair.namespaceB) {
            $0.filter = "udp port 7777"
            $0.timeout = .immediate
            $0.snapshotLength = immediateSnapshotLength
        })
        let injector = try await LiveCapture.open(interface: pair.interfaceA, options: try options(pair, namespace: pair.namespaceA) {
            $0.filter = "udp port 1"
        })
        XCTAssertEqual(capture.linkType, .ethernet)
        var frames: [[UInt8]] = []
        for i in 0 ..< 5 {
            let frame = try udpFrame(pair, payload: Array("veth-inject-\(i)".utf8) + [UInt8](repeating: 0x5A, count: 40), dstPort: 7777)
            let n = try await injector.inject(frame)
            XCTAssertEqual(n, frame.count)
            frames.append(frame)
        }
        let packets = try await collect(capture, seconds: 5) { ps in (0 ..< 5).allSatisfy { seen("veth-inject-\($0)", in: ps) } }
        for frame in frames {
            XCTAssertTrue(packets.contains { Array($0.bytes) == frame }, "injected frame not captured byte for byte on the other end")
        }
        // The injector's own capture (filter udp port 1) saw none of it.
        let own = try await injector.next(timeout: .milliseconds(200))
        XCTAssertNil(own)
        await injector.close()
        await capture.close()
    }

    func testDirectionInAndOut() async throws {
        try requireRoot()
        let pair = try NetworkNamespacePair()
        defer { pair.cleanup() }
        func open(_ direction: CaptureDirection) async throws -> LiveCapture {
            try await LiveCapture.open(interface: pair.interfaceB, options: try options(pair, namespace: pair.namespaceB) {
                $0.filter = "icmp"
                $0.direction = direction
            })
        }
        let inbound = try await open(.in)
        let outbound = try await open(.out)
        let both = try await open(.inOut)
        let ping = try runProcess(NetworkNamespacePair.exec(pair.namespaceA, ["/usr/bin/ping", "-c", "3", "-i", "0.2", "-W", "1", pair.addressB]), timeout: 10)
        XCTAssertEqual(ping.status, 0, "ping from A to B failed: \(ping.stdout) \(ping.stderr)")
        func icmpTypes(_ c: LiveCapture, _ expected: Int) async throws -> [UInt8] {
            try await collect(c, seconds: 3) { $0.count >= expected }.map { $0.bytes[$0.bytes.startIndex + 34] }
        }
        let inTypes = try await icmpTypes(inbound, 3)
        let outTypes = try await icmpTypes(outbound, 3)
        let allTypes = try await icmpTypes(both, 6)
        XCTAssertEqual(inTypes, [8, 8, 8], "direction .in should see only echo requests")
        XCTAssertEqual(outTypes, [0, 0, 0], "direction .out should see only echo replies")
        XCTAssertEqual(allTypes.sorted(), [0, 0, 0, 8, 8, 8])
        for c in [inbound, outbound, both] { await c.close() }
    }

    func testPromiscuousOnAndOff() async throws {
        try requireRoot()
        let pair = try NetworkNamespacePair()
        defer { pair.cleanup() }
        XCTAssertEqual(try pair.promiscuity(namespace: pair.namespaceB, interface: pair.interfaceB), 0)
        let promiscuous = try await LiveCapture.open(interface: pair.interfaceB, options: try options(pair, namespace: pair.namespaceB) {
            $0.promiscuous = true
        })
        XCTAssertEqual(try pair.promiscuity(namespace: pair.namespaceB, interface: pair.interfaceB), 1)
        await promiscuous.close()
        XCTAssertEqual(try pair.promiscuity(namespace: pair.namespaceB, interface: pair.interfaceB), 0)
        let plain = try await LiveCapture.open(interface: pair.interfaceB, options: try options(pair, namespace: pair.namespaceB) {
            $0.promiscuous = false
        })
        XCTAssertEqual(try pair.promiscuity(namespace: pair.namespaceB, interface: pair.interfaceB), 0)
        await plain.close()
    }

    func testCLICapturesInsideANamespace() throws {
        try requireRoot()
        let pair = try NetworkNamespacePair()
        defer { pair.cleanup() }
        let cli = try ChildProcess(NetworkNamespacePair.exec(pair.namespaceB, [
            try BuiltProducts.cli(), "capture", "-i", pair.interfaceB, "-c", "4", "--json", "--immediate",
            "--helper", try BuiltProducts.helper(), "icmp",
        ]))
        XCTAssertTrue(cli.waitForStderr(timeout: 10) { $0.contains("listening on \(pair.interfaceB)") }, cli.stderr)
        let ping = try runProcess(NetworkNamespacePair.exec(pair.namespaceA, ["/usr/bin/ping", "-c", "2", "-i", "0.2", "-W", "1", pair.addressB]), timeout: 10)
        XCTAssertEqual(ping.status, 0, ping.stderr)
        let result = cli.wait(timeout: 10)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 4, result.stdout)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertEqual(object?["linktype"] as? Int, 1)
            XCTAssertEqual(object?["interface"] as? Int, 0)
            XCTAssertEqual(object?["len"] as? Int, 98)
        }
        XCTAssertTrue(result.stderr.contains("4 packets captured"), result.stderr)
        XCTAssertTrue(result.stderr.contains("packets received by filter"), result.stderr)
        XCTAssertTrue(result.stderr.contains("0 packets dropped by kernel"), result.stderr)
    }
}
