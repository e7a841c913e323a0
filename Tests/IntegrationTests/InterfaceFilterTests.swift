import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

/// dumpcap's per-interface filters: `capture -i a -f icmp -i b -f udp` (issue 9).
/// Crafted IPv4 frames, ICMP and UDP alternating, are injected from the peer
/// end of each of two veth links (namespaces the test creates); each capture
/// must hold exactly the frames of its link its filter matches, in order.
final class InterfaceFilterTests: XCTestCase {
    /// IPv4 frames to a MAC nobody has (so no stack answers them), protocol
    /// 1 (ICMP) or 17 (UDP), a marker "ifN-link-k" after the IP header.
    private static func frame(link: Int, index: Int, proto: UInt8) -> [UInt8] {
        var frame: [UInt8] = [0x02, 0, 0, 0, 0, 0x99, 0x02, 0x53, 0x43, 0x44, 0, UInt8(link), 0x08, 0x00]
        let marker = Array("if\(index)-link-\(link)".utf8) + Array(repeating: 0, count: 20)
        let total = 20 + marker.count
        frame += [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, UInt8(index), 0, 0, 64, proto, 0, 0,
                  10, 99, 0, UInt8(link), 10, 99, 99, 99]
        return frame + marker
    }

    /// 8 frames per link: ICMP at even positions, UDP at odd ones.
    private static func frames(link: Int) -> [(proto: UInt8, bytes: [UInt8])] {
        (0 ..< 8).map { i in
            let proto: UInt8 = i % 2 == 0 ? 1 : 17
            return (proto, frame(link: link, index: i, proto: proto))
        }
    }

    private static func pcap(_ frames: [[UInt8]]) throws -> String {
        let path = try makeTemporaryDirectory("scD-iffilter-send") + "/send.pcap"
        let writer = try CaptureFileWriter(path: path, format: .pcap)
        try writer.addInterface(linkType: .ethernet)
        for (i, f) in frames.enumerated() {
            try writer.write(Packet(timestamp: Timestamp(seconds: 1_700_000_000, nanoseconds: UInt32(i * 1000)),
                                    wireLength: f.count, bytes: f[...], linkType: .ethernet))
        }
        try writer.close()
        return path
    }

    /// Captures on both links with `arguments` around the interface names while
    /// each link's frames are injected from its peer; returns the frames per
    /// interface index and the CLI's stderr.
    private func capture(_ veths: VethLinks, _ arguments: [String]) throws -> (perInterface: [Int: [[UInt8]]], stderr: String, path: String) {
        let path = try makeTemporaryDirectory("scD-iffilter") + "/two.pcapng"
        let cli = try startSwiftcapCapture(arguments + ["-w", path], namespace: veths.captureNamespace, interfaces: 2)
        for link in 0 ..< 2 {
            let file = try Self.pcap(Self.frames(link: link).map(\.bytes))
            let inject = try runProcess(NetworkNamespacePair.exec(veths.peerNamespace, [try BuiltProducts.cli(), "inject", "--helper",
                                        try BuiltProducts.helper(), "-i", veths.links[link].peer, "--topspeed", file]), timeout: 30)
            XCTAssertEqual(inject.status, 0, inject.stderr)
        }
        usleep(400_000)
        cli.send(SIGINT)
        let r = cli.wait(timeout: 10)
        XCTAssertEqual(r.status, 0, r.stderr)
        var perInterface: [Int: [[UInt8]]] = [:]
        try CaptureFile(path: path).forEachPacket { view in
            // Only the crafted frames (the links also carry IPv6 housekeeping, which no filter here matches).
            if view.bytes.count > 12, Array(view.bytes[6 ..< 10]) == [0x02, 0x53, 0x43, 0x44] {
                perInterface[view.interfaceIndex, default: []].append(Array(view.bytes))
            }
        }
        return (perInterface, r.stderr, path)
    }

    func testEachInterfaceHasItsOwnFilter() throws {
        let veths = try VethLinks(links: 2, prefix: "scD")
        defer { veths.cleanup() }
        let names = veths.links.map(\.local)
        let sent = (0 ..< 2).map { Self.frames(link: $0) }
        let icmp0 = sent[0].filter { $0.proto == 1 }.map(\.bytes), udp1 = sent[1].filter { $0.proto == 17 }.map(\.bytes)

        // The form: -i a -f icmp -i b -f udp.
        let own = try capture(veths, ["-i", names[0], "-f", "icmp", "-i", names[1], "-f", "udp"])
        XCTAssertEqual(own.perInterface[0] ?? [], icmp0, "\(names[0]) -f icmp: its 4 ICMP frames, in order")
        XCTAssertEqual(own.perInterface[1] ?? [], udp1, "\(names[1]) -f udp: its 4 UDP frames, in order")
        // tshark agrees on the interface and the protocol of every packet.
        let rows = try toolLines(["/usr/bin/tshark", "-r", own.path, "-T", "fields", "-E", "separator=,",
                                  "-e", "frame.interface_name", "-e", "ip.proto", "-Y", "eth.src == 02:53:43:44:00:00 || eth.src == 02:53:43:44:00:01"])
        XCTAssertEqual(rows.sorted(), (Array(repeating: "\(names[0]),1", count: 4) + Array(repeating: "\(names[1]),17", count: 4)).sorted())
        // Each interface block records its filter, as dumpcap's do (if_filter).
        let filterLines = try toolLines(["/usr/bin/capinfos", "-I", own.path]).filter { $0.contains("Filter string = ") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(filterLines, ["Filter string = icmp", "Filter string = udp"])

        // A common filter (the words) for the interface without its own -f.
        let mixed = try capture(veths, ["-i", names[0], "-i", names[1], "-f", "icmp", "udp"])
        XCTAssertEqual(mixed.perInterface[0] ?? [], sent[0].filter { $0.proto == 17 }.map(\.bytes), "\(names[0]) takes the words' udp")
        XCTAssertEqual(mixed.perInterface[1] ?? [], sent[1].filter { $0.proto == 1 }.map(\.bytes), "\(names[1]) -f icmp")
    }

    /// The library's form: filters keyed by interface name replace
    /// `options.filter` for that interface; a key naming no interface is refused.
    func testMultiInterfaceCaptureTakesAFilterPerInterface() async throws {
        try requireRoot()
        var options = CaptureOptions(helperPath: try BuiltProducts.helper())
        options.filter = "icmp"
        options.timeout = .immediate
        await _ = expectCaptureError(.invalidArgument, advice: ["filters names eth9", "key each filter"]) {
            try await MultiInterfaceCapture.open(interfaces: ["lo"], filters: ["eth9": "udp"], options: options)
        }
        let port = LoopbackTraffic.freePort()
        let merged = try await MultiInterfaceCapture.open(interfaces: ["lo"], filters: ["lo": "udp dst port \(port)"], options: options)
        let marker = Array("scD-per-interface".utf8)
        try LoopbackTraffic.sendUDP(port: port, payload: LoopbackTraffic.payload("scD-per-interface"), count: 3)
        let watchdog = Task { try await Task.sleep(for: .seconds(10)); await merged.close() }
        var got: [Packet] = []
        for try await packet in merged.packets {
            got.append(packet)
            if got.count == 3 { break }
        }
        watchdog.cancel()
        await merged.close()
        XCTAssertEqual(got.count, 3, "the three datagrams, which options.filter (icmp) alone would have dropped")
        XCTAssertTrue(got.allSatisfy { contains($0.bytes, marker) }, "only what lo's own filter matches")
    }

    /// Bad -f combinations (the table), each refused before capturing.
    func testBadInterfaceFilterArguments() throws {
        try requireRoot()
        let cases: [([String], String)] = [
            (["-i", "lo", "-f", "icmp", "-f", "udp"], "-i lo has two -f filters"),
            (["-f", "icmp", "-i", "lo", "udp"], "before any -i is the filter of every interface, and so are the filter words"),
            (["-r", "x.pcap", "-f", "icmp"], "-f sets a live capture's filter"),
        ]
        for (arguments, message) in cases {
            let r = try runProcess([try BuiltProducts.cli(), "capture", "--helper", try BuiltProducts.helper(), "-c", "1"] + arguments, timeout: 15)
            XCTAssertNotEqual(r.status, 0, "\(arguments) accepted")
            XCTAssertTrue(r.stderr.contains(message), "\(arguments): \(r.stderr)")
        }
    }
}
