import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

/// `swiftcap capture -w FILE --format pcap|pcapng`: the file holds exactly the
/// packets captured, and the reference tools read it with the same timestamps.
final class CaptureToFileTests: XCTestCase {
    func testCaptureWritesFilesThatTcpdumpAndOurReaderAgreeOn() throws {
        try requireRoot()
        let dir = try makeTemporaryDirectory("swiftcap-capture-w")
        defer { removeTemporary(dir) }
        for format in ["pcap", "pcapng"] {
            let port = LoopbackTraffic.freePort()
            let path = "\(dir)/out.\(format)"
            let cli = try ChildProcess([try BuiltProducts.cli(), "capture", "--helper", try BuiltProducts.helper(),
                                        "-i", "lo", "-c", "4", "-w", path, "--format", format, "udp", "port", "\(port)"])
            XCTAssertTrue(cli.waitForStderr(timeout: 10) { $0.contains("listening on") }, cli.stderr)
            try sendMarkers((0 ..< 6).map { "w\($0)" }, port: port, size: 120)
            let r = cli.wait(timeout: 10)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout, "", "-w prints nothing per packet")
            XCTAssertTrue(r.stderr.contains("4 packets captured"), r.stderr)

            // Our reader: 4 packets, 162-byte frames (14 + 20 + 8 + 120), nanosecond timestamps.
            let file = try CaptureFile(path: path)
            var ours: [String] = []
            try file.forEachPacket { view in
                ours.append("\(view.makePacket().timestamp!) \(view.bytes.count) \(view.wireLength)")
            }
            XCTAssertEqual(ours.count, 4, format)
            XCTAssertTrue(ours.allSatisfy { $0.hasSuffix(" 162 162") }, "\(ours)")

            // tcpdump reads the same timestamps and lengths.
            let td = try runProcess(["/usr/bin/tcpdump", "-nr", path, "--nano", "-tt", "-q"])
            XCTAssertEqual(td.status, 0, "tcpdump is installed by .ci/setup; \(td.stderr)")
            let theirs = td.stdout.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
            XCTAssertEqual(theirs, ours.map { String($0.split(separator: " ")[0]) }, format)
        }
    }

    func testWriteToAnUnwritablePathFailsWithTheReason() throws {
        try requireRoot()
        let r = try runProcess([try BuiltProducts.cli(), "capture", "--helper", try BuiltProducts.helper(),
                                "-i", "lo", "-c", "1", "--duration", "2", "-w", "/nonexistent-dir/x.pcap"], timeout: 15)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("/nonexistent-dir/x.pcap"), r.stderr)
        XCTAssertTrue(r.stderr.contains("directory"), "the message says what to check: \(r.stderr)")
    }
}
