import Foundation
import PacketCapture
import XCTest

/// Crafted files for what foreign captures revealed (issue 11, items 3-5): wire
/// lengths below the captured length, pcapng and pcap versions nobody wrote,
/// and sub-second fields of a second or more.
///
/// Bad inputs tried here, and what swiftcap does:
///
/// | input | result |
/// |---|---|
/// | pcap / pcapng record whose original length < captured length | read as stored; flagged; counted once per packet |
/// | pcapng SHB 1.1, 0.1, 1.3, 2.0 (first section) | `.unsupportedVersion` at offset 12 when opening |
/// | pcapng SHB 1.1 in a later section | packets before it, then `.unsupportedVersion` at that SHB + 12 |
/// | pcap header 2.5, 3.0, 1.4 | `.unsupportedVersion` at offset 4 |
/// | pcap link-type field with reserved bits 16-25 set | `.invalidHeader` at offset 20 |
/// | pcap µs field ≥ 1 000 000, ns field ≥ 1 000 000 000 | carried into the seconds (documented on `PacketView.timestamp`) |
final class FilesAnomalyTests: TemporaryDirectoryTestCase {
    // MARK: Item 3: wire length below captured length

    let short: [(sec: UInt32, frac: UInt32, data: [UInt8], orig: UInt32?)] = [
        (100, 1, payload(60), nil),
        (101, 2, payload(80), 40),     // claims 40 on the wire, stores 80
        (102, 3, payload(70), 1500),
        (103, 4, payload(64), 0),      // claims nothing on the wire
    ]

    func testPcapWireLengthBelowCaptureLengthIsReportedAsStoredAndCounted() throws {
        for bigEndian in [false, true] {
            let bytes = Pcap.file(bigEndian: bigEndian, records: short)
            let file = try CaptureFile(bytes: bytes)
            XCTAssertEqual(file.wireLengthBelowCaptureLengthCount, 0, "nothing read yet")
            var seen: [(Int, Int, Bool)] = []
            try file.forEachPacket { seen.append(($0.captureLength, $0.wireLength, $0.hasWireLengthBelowCaptureLength)) }
            XCTAssertEqual(seen.map(\.0), [60, 80, 70, 64])
            XCTAssertEqual(seen.map(\.1), [60, 40, 1500, 0], "the stored original lengths, not raised")
            XCTAssertEqual(seen.map(\.2), [false, true, false, true])
            XCTAssertEqual(file.wireLengthBelowCaptureLengthCount, 2)
            // A second walk sees the same packets: not counted again.
            try file.forEachPacket { _ in }
            var n = 0
            try file.countPackets(into: &n)
            XCTAssertEqual(n, 4)
            XCTAssertEqual(file.wireLengthBelowCaptureLengthCount, 2)
            // The copy keeps the stored value.
            var copies: [Packet] = []
            try file.forEachPacket { copies.append($0.makePacket()) }
            XCTAssertEqual(copies.map(\.wireLength), [60, 40, 1500, 0])

            // Counting alone counts them too, and so does a stream.
            let counted = try CaptureFile(bytes: bytes)
            var m = 0
            try counted.countPackets(into: &m)
            XCTAssertEqual(counted.wireLengthBelowCaptureLengthCount, 2)
            let streamed = openAndReadAllAsStream(bytes: bytes)
            XCTAssertNil(streamed.error)
            XCTAssertEqual(streamed.packets.map(\.wireLength), [60, 40, 1500, 0])
        }
    }

    func testPcapngWireLengthBelowCaptureLengthIsReportedAsStoredAndCounted() throws {
        for bigEndian in [false, true] {
            let bytes = Pcapng.shb(bigEndian: bigEndian) + Pcapng.idb(bigEndian: bigEndian)
                + Pcapng.epb(bigEndian: bigEndian, units: 1, data: payload(60))
                + Pcapng.epb(bigEndian: bigEndian, units: 2, data: payload(80), orig: 40)
                // the obsolete Packet Block takes the reader's general path
                + Pcapng.epb(bigEndian: bigEndian, units: 3, data: payload(70), orig: 10, type: 2)
                + Pcapng.spb(bigEndian: bigEndian, orig: 90, data: payload(90))
            let file = try CaptureFile(bytes: bytes)
            var seen: [(Int, Int, Bool)] = []
            try file.forEachPacket { seen.append(($0.captureLength, $0.wireLength, $0.hasWireLengthBelowCaptureLength)) }
            XCTAssertEqual(seen.map(\.0), [60, 80, 70, 90])
            XCTAssertEqual(seen.map(\.1), [60, 40, 10, 90])
            XCTAssertEqual(seen.map(\.2), [false, true, true, false])
            XCTAssertEqual(file.wireLengthBelowCaptureLengthCount, 2)
            try file.forEachPacket { _ in }
            XCTAssertEqual(file.wireLengthBelowCaptureLengthCount, 2)

            let counted = try CaptureFile(bytes: bytes)
            var n = 0
            try counted.countPackets(into: &n)
            XCTAssertEqual(n, 4)
            XCTAssertEqual(counted.wireLengthBelowCaptureLengthCount, 2)
            XCTAssertEqual(openAndReadAllAsStream(bytes: bytes).packets.map(\.wireLength), [60, 40, 10, 90])
        }
    }

    /// tshark reports the stored original length too (the reference).
    func testTsharkReportsTheSameStoredWireLengths() throws {
        let p = path("short.pcap")
        XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data(Pcap.file(records: short))))
        let tshark = try XCTUnwrap(try FilesSupport.tsharkLines(p))
        XCTAssertEqual(tshark.map { $0.split(separator: "\t", omittingEmptySubsequences: false)[2] },
                       ["60", "40", "1500", "0"])
        XCTAssertEqual(FilesSupport.normalized(try FilesSupport.ourLines(p)), FilesSupport.normalized(tshark))
    }

    // MARK: Item 4: pcapng (and pcap) versions

    func pcapngFile(version: (UInt16, UInt16), bigEndian: Bool = false) -> [UInt8] {
        Pcapng.shb(bigEndian: bigEndian, version: version) + Pcapng.idb(bigEndian: bigEndian)
            + Pcapng.epb(bigEndian: bigEndian, units: 1, data: payload(60))
    }

    func testPcapngVersionsOtherThan1_0And1_2AreRefusedWhenOpening() throws {
        for bigEndian in [false, true] {
            for version in [(UInt16(1), UInt16(0)), (1, 2)] {
                let r = openAndReadAll(bytes: pcapngFile(version: version, bigEndian: bigEndian))
                XCTAssertNil(r.error, "\(version)")
                XCTAssertEqual(r.packets.count, 1)
            }
            for version in [(UInt16(1), UInt16(1)), (0, 1), (1, 3), (2, 0)] {
                let bytes = pcapngFile(version: version, bigEndian: bigEndian)
                XCTAssertThrowsError(try CaptureFile(bytes: bytes)) { error in
                    let e = error as? CaptureFileError
                    XCTAssertEqual(e?.code, .unsupportedVersion, "\(version)")
                    XCTAssertEqual(e?.offset, 12)
                    XCTAssertTrue(e?.message.contains("pcapng version \(version.0).\(version.1) is not supported") ?? false,
                                  e?.message ?? "")
                }
                // A stream is refused the same way.
                XCTAssertEqual(openAndReadAllAsStream(bytes: bytes).error?.code, .unsupportedVersion)
            }
        }
    }

    func testPcapngVersion1_1InALaterSectionEndsTheReadAfterTheEarlierPackets() throws {
        let first = pcapngFile(version: (1, 0))
        let bytes = first + pcapngFile(version: (1, 1), bigEndian: true)
        let r = openAndReadAll(bytes: bytes)
        XCTAssertEqual(r.packets.count, 1)
        XCTAssertEqual(r.error?.code, .unsupportedVersion)
        XCTAssertEqual(r.error?.offset, first.count + 12)
    }

    /// libpcap (tcpdump) refuses what we refuse, and reads what we read.
    func testTcpdumpAgreesOnPcapngVersions() throws {
        guard let tcpdump = FilesSupport.tool("tcpdump") else { return }
        for (version, accepted) in [((UInt16(1), UInt16(0)), true), ((1, 2), true), ((1, 1), false), ((1, 3), false)] {
            let p = path("v\(version.0).\(version.1).pcapng")
            XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data(pcapngFile(version: version))))
            let r = try FilesSupport.run(tcpdump, ["-r", p, "-n"])
            XCTAssertEqual(r.status == 0, accepted, "tcpdump on \(version): \(r.stderr)")
            XCTAssertEqual((try? CaptureFile(path: p)) != nil, accepted, "swiftcap on \(version)")
        }
    }

    func testPcapVersionsAbove2_4AreRefused() throws {
        for bigEndian in [false, true] {
            for minor: UInt16 in 0...4 {
                let r = openAndReadAll(bytes: Pcap.file(bigEndian: bigEndian, version: (2, minor),
                                                        records: [(1, 0, payload(20), nil)]))
                XCTAssertNil(r.error, "2.\(minor)")
                XCTAssertEqual(r.packets.count, 1)
            }
            for version in [(UInt16(2), UInt16(5)), (3, 0), (1, 4)] {
                let r = openAndReadAll(bytes: Pcap.file(bigEndian: bigEndian, version: version,
                                                        records: [(1, 0, payload(20), nil)]))
                XCTAssertEqual(r.error?.code, .unsupportedVersion, "\(version)")
                XCTAssertEqual(r.error?.offset, 4)
            }
        }
    }

    func testPcapReservedLinkTypeBitsAreRefusedButTheFCSBitsAreRead() throws {
        let refused = openAndReadAll(bytes: Pcap.file(linkTypeField: 0x0030_0001, records: [(1, 0, payload(20), nil)]))
        XCTAssertEqual(refused.error?.code, .invalidHeader)
        XCTAssertEqual(refused.error?.offset, 20)
        XCTAssertTrue(refused.error?.message.contains("0x300000") ?? false, refused.error?.message ?? "")
        let fcs = try CaptureFile(bytes: Pcap.file(linkTypeField: 0x1000_0001 | 2 << 29,
                                                   records: [(1, 0, payload(20), nil)]))
        XCTAssertEqual(fcs.pcapHeader?.fcsLength, 4)
        XCTAssertEqual(readAll(fcs).packets.count, 1)
    }

    // MARK: Item 5: a sub-second field of a second or more

    func testMicroAndNanosecondFieldsOfASecondOrMoreCarryIntoTheSeconds() throws {
        for bigEndian in [false, true] {
            let micro = openAndReadAll(bytes: Pcap.file(bigEndian: bigEndian, records: [
                (1000, 999_999, payload(20), nil),
                (1000, 1_000_000, payload(20), nil),
                (1000, 1_500_000, payload(20), nil),
                (1000, UInt32.max, payload(20), nil),
            ]))
            XCTAssertNil(micro.error)
            XCTAssertEqual(micro.packets.map { $0.timestamp?.description },
                           ["1000.999999000", "1001.000000000", "1001.500000000", "5294.967295000"])
            let nano = openAndReadAll(bytes: Pcap.file(bigEndian: bigEndian, nanoseconds: true, records: [
                (1000, 999_999_999, payload(20), nil),
                (1000, 2_000_000_001, payload(20), nil),
                (UInt32.max, UInt32.max, payload(20), nil),
            ]))
            XCTAssertNil(nano.error)
            XCTAssertEqual(nano.packets.map { $0.timestamp?.description },
                           ["1000.999999999", "1002.000000001", "4294967299.294967295"])
        }
    }
}
