import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

/// A pcapng file written live by dumpcap with several interfaces (here `lo`
/// twice, with ping traffic to 127.0.0.1) reads back exactly as tshark reads it.
final class DumpcapFileTests: XCTestCase {
    func testDumpcapSeveralInterfacesReadsAsTsharkReadsIt() throws {
        try requireRoot()
        let dir = try makeTemporaryDirectory("swiftcap-dumpcap")
        defer { removeTemporary(dir) }
        let path = "\(dir)/dumpcap.pcapng"
        // No -c: a count can be met by one interface alone while the other's packets
        // wait in its buffer. Stopped with SIGINT once both have had time to deliver.
        let dumpcap = try ChildProcess(["/usr/bin/dumpcap", "-i", "lo", "-i", "lo", "-f", "icmp", "-w", path])
        // dumpcap says "Capturing on ..." once its interfaces are open.
        XCTAssertTrue(dumpcap.waitForStderr(timeout: 15) { $0.contains("Capturing on") },
                      "dumpcap (installed by .ci/setup with tshark) did not start: \(dumpcap.stderr)")
        Thread.sleep(forTimeInterval: 1)
        let ping = try runProcess(["/usr/bin/ping", "-c", "4", "-i", "0.2", "-W", "1", "127.0.0.1"], timeout: 15)
        XCTAssertEqual(ping.status, 0, ping.stderr)
        Thread.sleep(forTimeInterval: 1.5)
        dumpcap.send(SIGINT)
        let r = dumpcap.wait(timeout: 15)
        XCTAssertEqual(r.status, 0, r.stderr)

        let file = try CaptureFile(path: path)
        XCTAssertEqual(file.sections.first?.interfaces.count, 2, "dumpcap wrote one IDB per -i")
        var ours: [String] = []
        try file.forEachPacket { view in
            ours.append("\(view.interfaceIndex) \(view.timestamp!) \(view.captureLength) \(view.wireLength)")
        }
        let tshark = try runProcess(["/usr/bin/tshark", "-r", path, "-T", "fields", "-e", "frame.interface_id",
                                     "-e", "frame.time_epoch", "-e", "frame.cap_len", "-e", "frame.len"])
        XCTAssertEqual(tshark.status, 0, tshark.stderr)
        let theirs = tshark.stdout.split(separator: "\n").map { $0.split(separator: "\t").joined(separator: " ") }
        XCTAssertEqual(ours, theirs)
        XCTAssertEqual(Set(ours.map { $0.prefix(1) }), ["0", "1"], "packets from both interfaces")
    }
}
