import Foundation
import Glibc
import PacketCapture
import PacketDecoding
import TestSupport
import XCTest

/// Frames from `PacketBuilder` checked by tshark (checksum validation on) and
/// sent across a veth pair between two namespaces this test creates.
final class BuilderToolTests: XCTestCase {
    /// tshark's checksum status of every built frame: present ones are all Good (1).
    func assertTsharkFindsChecksumsGood(_ path: String, expectedPackets: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try runProcess(["/usr/bin/tshark", "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
                                "-o", "udp.check_checksum:TRUE", "-T", "fields", "-e", "frame.number", "-e", "ip.checksum.status",
                                "-e", "tcp.checksum.status", "-e", "udp.checksum.status", "-e", "icmp.checksum.status",
                                "-e", "icmpv6.checksum.status", "-e", "_ws.malformed", "-e", "arp.opcode"], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let rows = r.stdout.split(separator: "\n")
        XCTAssertEqual(rows.count, expectedPackets, r.stdout, file: file, line: line)
        for row in rows {
            let columns = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            let statuses = columns[1...5].flatMap { $0.split(separator: ",") }
            XCTAssertTrue(columns[6].isEmpty, "tshark: malformed packet \(row)", file: file, line: line)
            XCTAssertFalse(statuses.isEmpty && columns[7].isEmpty, "no checksum checked in packet \(row)", file: file, line: line)
            XCTAssertTrue(statuses.allSatisfy { $0 == "1" }, "tshark finds a checksum not good: \(row)", file: file, line: line)
        }
    }

    func testTsharkFindsEveryBuiltFrameCorrect() throws {
        let dir = try makeTemporaryDirectory("sc8-builder")
        let path = "\(dir)/built.pcapng"
        let writer = try CaptureFileWriter(path: path, format: .pcapng)
        try writer.addInterface(linkType: .ethernet)
        try writer.addInterface(linkType: .raw)
        let frames = BuiltFrames.all()
        for frame in frames {
            let bytes = frame.bytes
            try writer.write(Packet(timestamp: Timestamp(seconds: 1_700_000_000, nanoseconds: 0), wireLength: bytes.count,
                                    bytes: ArraySlice(bytes), linkType: frame.linkType == 1 ? .ethernet : .raw,
                                    interfaceIndex: frame.linkType == 1 ? 0 : 1))
        }
        try writer.close()
        try assertTsharkFindsChecksumsGood(path, expectedPackets: frames.count)
    }

    /// Built frames injected on one end of a veth pair are captured on the other
    /// byte for byte, decode to the fields they were built with, and pass tshark.
    func testInjectedBuiltFramesAreCapturedAndDecoded() async throws {
        try requireRoot()
        let pair = try NetworkNamespacePair(prefix: "sc8")
        defer { pair.cleanup() }
        let macA = try MACAddress(pair.macAddress(namespace: pair.namespaceA, interface: pair.interfaceA).map { String(format: "%02x", $0) }.joined(separator: ":"))!
        let macB = try MACAddress(pair.macAddress(namespace: pair.namespaceB, interface: pair.interfaceB).map { String(format: "%02x", $0) }.joined(separator: ":"))!
        func options(_ namespace: String, _ filter: String) throws -> CaptureOptions {
            var o = CaptureOptions()
            o.helperPath = try pair.helperWrapper(namespace: namespace, helper: BuiltProducts.helper())
            o.filter = filter
            o.timeout = .immediate
            return o
        }
        // Only frames to B: namespace A's kernel sends its own (IPv6 MLD reports, router solicitations) to multicast.
        let capture = try await LiveCapture.open(interface: pair.interfaceB,
                                                 options: try options(pair.namespaceB, "ether src \(macA) and ether dst \(macB)"))
        let injector = try await LiveCapture.open(interface: pair.interfaceA, options: try options(pair.namespaceA, "ether src 02:00:00:00:00:99"))
        let frames = BuiltFrames.all(links: [.ethernet(source: macA, destination: macB), .ethernet(source: macA, destination: macB, vlanIDs: [42])])
        for frame in frames {
            let bytes = frame.bytes
            let sent = try await injector.inject(bytes)
            XCTAssertEqual(sent, bytes.count, frame.name)
        }
        // Byte for byte, except that a frame may come back padded (to the 60-byte Ethernet minimum).
        func isCopy(_ packet: Packet, of bytes: [UInt8]) -> Bool {
            Array(packet.bytes.prefix(bytes.count)) == bytes && (packet.bytes.count == bytes.count || packet.bytes.count <= 64)
        }
        var captured: [Packet] = []
        let deadline = Date().addingTimeInterval(10)
        // Until every frame is back: a stray frame of the kernel's must not end the wait early.
        while !frames.allSatisfy({ frame in captured.contains { isCopy($0, of: frame.bytes) } }) && Date() < deadline {
            if let packet = try await capture.next(timeout: .milliseconds(500)) { captured.append(packet) }
        }
        await injector.close()
        await capture.close()
        for frame in frames {
            let bytes = frame.bytes
            guard let packet = captured.first(where: { isCopy($0, of: bytes) }) else {
                XCTFail("\(frame.name): not captured byte for byte: \(captured.map { Array($0.bytes).count })"); continue
            }
            let decoded = DecodedPacket(bytes: packet.bytes.span.bytes, linkType: packet.linkType.rawValue)
            XCTAssertEqual(decoded.end.reason, .complete, frame.name)
            XCTAssertEqual(decoded.ethernet?.source, macA, frame.name)
            if decoded.arp == nil { XCTAssertEqual(decoded.transportChecksumIsValid, true, frame.name) }
            XCTAssertEqual(decoded.tcp?.sourcePort ?? decoded.udp?.sourcePort ?? 0, decoded.tcp != nil ? 40000 : decoded.udp != nil ? 5555 : 0, frame.name)
        }
        let dir = try makeTemporaryDirectory("sc8-inject")
        let path = "\(dir)/captured.pcap"
        let writer = try CaptureFileWriter(path: path, format: .pcap)
        try writer.addInterface(linkType: .ethernet)
        for packet in captured { try writer.write(packet) }
        try writer.close()
        try assertTsharkFindsChecksumsGood(path, expectedPackets: captured.count)
    }
}
