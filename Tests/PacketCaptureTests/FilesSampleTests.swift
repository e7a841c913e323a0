import Foundation
import PacketCapture
import XCTest

/// Files made by the real tools (committed under Samples/ by make-samples.sh),
/// read without needing the tools: what we read must equal what tshark read
/// when the sample was made (Samples/NAME.tshark).
final class FilesSampleTests: XCTestCase {
    func testEverySampleReadsAsTsharkReadIt() throws {
        let names = FilesSupport.sampleNames
        XCTAssertGreaterThanOrEqual(names.count, 11, "samples missing from \(FilesSupport.samples.path)")
        for name in names {
            let expected = try String(contentsOfFile: FilesSupport.sample(name + ".tshark"), encoding: .utf8)
                .split(separator: "\n").map(String.init)
            let ours = try FilesSupport.ourLines(FilesSupport.sample(name))
            XCTAssertEqual(FilesSupport.normalized(ours), FilesSupport.normalized(expected), name)
        }
    }

    func testEverySampleReadsTheSameAsAStream() throws {
        for name in FilesSupport.sampleNames {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: FilesSupport.sample(name))))
            let mapped = readAll(try CaptureFile(path: FilesSupport.sample(name)))
            let streamed = openAndReadAllAsStream(bytes: bytes)
            XCTAssertNil(mapped.error, name)
            XCTAssertNil(streamed.error, name)
            XCTAssertEqual(streamed.packets, mapped.packets, name)
        }
    }

    func testTcpdumpPcapHeaders() throws {
        let us = try CaptureFile(path: FilesSupport.sample("tcpdump-us.pcap"))
        XCTAssertEqual(us.pcapHeader?.timestampPrecision, .microseconds)
        XCTAssertEqual(us.pcapHeader?.linkType, .ethernet)
        XCTAssertEqual(us.pcapHeader?.snapshotLength, 262_144)
        let ns = try CaptureFile(path: FilesSupport.sample("tcpdump-ns.pcap"))
        XCTAssertEqual(ns.pcapHeader?.timestampPrecision, .nanoseconds)
        XCTAssertEqual(readAll(ns).packets.first?.timestamp, Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789))
        XCTAssertEqual(readAll(us).packets.first?.timestamp, Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_000))
        let cut = try CaptureFile(path: FilesSupport.sample("editcap-snap64.pcap"))
        XCTAssertEqual(cut.pcapHeader?.snapshotLength, 64)
        let packets = readAll(cut).packets
        XCTAssertEqual(packets.map(\.captureLength), [42, 64, 64, 64, 64, 64, 53])
        XCTAssertEqual(packets.map(\.wireLength), [42, 98, 70, 74, 1514, 86, 53])
    }

    func testPcapngInterfacesFromText2pcapEditcapAndMergecap() throws {
        let single = try CaptureFile(path: FilesSupport.sample("text2pcap-ns.pcapng"))
        XCTAssertEqual(single.sections.count, 1)
        XCTAssertEqual(single.sections[0].interfaces.map(\.name), ["eth0"])
        XCTAssertEqual(single.sections[0].interfaces[0].timestampResolution, .nanoseconds)
        XCTAssertTrue(single.sections[0].userApplication?.hasPrefix("Text2pcap") ?? false)

        let two = try CaptureFile(path: FilesSupport.sample("mergecap-two-interfaces.pcapng"))
        XCTAssertEqual(two.sections[0].interfaces.map(\.name), ["eth0", "eth1"])
        XCTAssertEqual(two.linkTypes(), [.ethernet])
        XCTAssertEqual(readAll(two).packets.map(\.interface), [0, 0, 1, 0, 0, 1, 0, 0, 0, 1])

        let mixed = try CaptureFile(path: FilesSupport.sample("mergecap-mixed.pcapng"))
        XCTAssertEqual(mixed.linkTypes(), [.ethernet, .raw])
        XCTAssertEqual(mixed.sections[0].interfaces.map(\.name), ["eth0", "tun0"])
        XCTAssertEqual(readAll(mixed).packets.map(\.linkType), [1, 1, 101, 1, 1, 101, 1, 1, 101, 1])

        let comments = try CaptureFile(path: FilesSupport.sample("editcap-comments.pcapng"))
        XCTAssertEqual(readAll(comments).packets.map(\.comments),
                       [["first packet"], [], ["third packet, \"quoted\""], [], [], [], ["last packet"]])

        let cut = try CaptureFile(path: FilesSupport.sample("editcap-snap64.pcapng"))
        XCTAssertEqual(readAll(cut).packets.map(\.captureLength), [42, 64, 64, 64, 64, 64, 53])
    }

    func testPacketBytesAreTheCapturedBytes() throws {
        // The ARP request of ether.txt, byte for byte, in every format.
        let arp: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06, 0x00, 0x01]
        for name in ["tcpdump-us.pcap", "text2pcap-ns.pcapng", "mergecap-mixed.pcapng", "editcap-snap64.pcap"] {
            let file = try CaptureFile(path: FilesSupport.sample(name))
            var views = file.makePacketIterator()
            let view = try XCTUnwrap(views.next(), name)
            let first = Array(view.bytes.prefix(16))
            XCTAssertEqual(view.makePacket().bytes.count, 42)
            XCTAssertEqual(first, arp, name)
        }
    }
}
