import Foundation
import PacketCapture
import XCTest

/// Damaged files: each yields the complete packets before the damage, then a
/// typed error with the right code and byte offset, mapped and as a stream.
final class FilesMalformedTests: XCTestCase {
    struct Case {
        var name: String
        var bytes: [UInt8]
        var code: CaptureFileError.Code
        var offset: Int
        var packets: Int
        var messageContains: [String] = []
    }

    // pcap: header 0..<24, record 1 24..<100 (60 bytes), record 2 100..<216 (100 bytes).
    static func pcapRecords(big: Bool = false) -> [UInt8] {
        Pcap.file(bigEndian: big, records: [(1, 2, payload(60), nil), (3, 4, payload(100), nil)])
    }

    // pcapng: SHB 0..<28, IDB 28..<48, EPB 48..<140 (60 bytes), EPB 140..<224 (50 bytes).
    static let shb = Pcapng.shb()
    static let idb = Pcapng.idb()
    static let epb1 = Pcapng.epb(units: 1, data: payload(60))
    static func epb2(interface: UInt32 = 0, length: UInt32? = nil, trailer: UInt32? = nil,
                     caplen: UInt32? = nil) -> [UInt8] {
        var b = Pcapng.epb(interface: interface, units: 2, data: payload(50), caplen: caplen)
        var builder = ByteBuilder()
        if let length {
            builder.u32(length)
            b.replaceSubrange(4..<8, with: builder.bytes)
        }
        if let trailer {
            var t = ByteBuilder()
            t.u32(trailer)
            b.replaceSubrange((b.count - 4)..<b.count, with: t.bytes)
        }
        return b
    }
    static var pcapng: [UInt8] { shb + idb + epb1 + epb2() }

    static var cases: [Case] {
        let pcap = pcapRecords()
        var versionThree = pcap
        versionThree[4] = 3
        var hugeRecord = pcap
        hugeRecord.replaceSubrange(108..<112, with: [0xFF, 0xFF, 0xFF, 0x7F])
        var overSnaplen = Pcap.file(snaplen: 65535, records: [(1, 2, payload(60), nil)])
        overSnaplen += [0, 0, 0, 0, 0, 0, 0, 0, 0xE0, 0x93, 0x04, 0x00, 0xE0, 0x93, 0x04, 0x00]   // caplen 300000
        var badBOM = shb
        badBOM[8] = 0x99
        return [
            // Classic pcap.
            Case(name: "empty file", bytes: [], code: .truncated, offset: 0, packets: 0, messageContains: ["empty"]),
            Case(name: "pcap magic only", bytes: [0xD4, 0xC3, 0xB2], code: .truncated, offset: 0, packets: 0),
            Case(name: "pcap header cut", bytes: Array(pcap.prefix(10)), code: .truncated, offset: 0, packets: 0,
                 messageContains: ["24-byte"]),
            Case(name: "gzip", bytes: [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3], code: .unknownFormat, offset: 0,
                 packets: 0, messageContains: ["1f 8b", "gzip"]),
            Case(name: "text", bytes: Array("12:00:00.000 IP 10.0.0.1 > 10.0.0.2\n".utf8), code: .unknownFormat,
                 offset: 0, packets: 0, messageContains: ["31 32 3a", "text"]),
            Case(name: "Kuznetzov pcap", bytes: [0x34, 0xCD, 0xB2, 0xA1] + [UInt8](repeating: 0, count: 20),
                 code: .unknownFormat, offset: 0, packets: 0, messageContains: ["Kuznetzov", "editcap"]),
            Case(name: "pcap version 3", bytes: versionThree, code: .unsupportedVersion, offset: 4, packets: 0),
            Case(name: "pcap cut in record header", bytes: Array(pcap.prefix(107)), code: .truncated, offset: 100,
                 packets: 1, messageContains: ["7 bytes into the 16-byte header", "record #2"]),
            Case(name: "pcap cut in record data", bytes: Array(pcap.prefix(166)), code: .truncated, offset: 100,
                 packets: 1, messageContains: ["100 captured bytes", "after 50"]),
            Case(name: "big-endian pcap cut in record data", bytes: Array(Self.pcapRecords(big: true).prefix(166)),
                 code: .truncated, offset: 100, packets: 1),
            Case(name: "pcap record absurdly long", bytes: hugeRecord, code: .recordTooLong, offset: 100,
                 packets: 1, messageContains: ["2147483647"]),
            Case(name: "pcap record over snaplen and 262144", bytes: overSnaplen, code: .recordTooLong, offset: 100,
                 packets: 1, messageContains: ["300000", "65535"]),
            Case(name: "pcap trailing garbage", bytes: pcap + [1, 2, 3], code: .truncated, offset: 216, packets: 2),

            // pcapng.
            Case(name: "pcapng cut in section header", bytes: Array(shb.prefix(20)), code: .truncated, offset: 0,
                 packets: 0),
            Case(name: "pcapng bad byte-order magic", bytes: badBOM + idb, code: .unknownFormat, offset: 8,
                 packets: 0, messageContains: ["byte-order magic"]),
            Case(name: "pcapng version 2", bytes: Pcapng.shb(version: (2, 0)) + idb, code: .unsupportedVersion,
                 offset: 12, packets: 0),
            Case(name: "pcapng cut in block header", bytes: Array(pcapng.prefix(144)), code: .truncated,
                 offset: 140, packets: 1, messageContains: ["8-byte header"]),
            Case(name: "pcapng cut in block", bytes: Array(pcapng.prefix(180)), code: .truncated, offset: 140,
                 packets: 1, messageContains: ["84 bytes long", "40 bytes into it"]),
            Case(name: "block length not a multiple of 4", bytes: shb + idb + epb1 + epb2(length: 85),
                 code: .invalidBlockLength, offset: 140, packets: 1, messageContains: ["multiple of 4"]),
            Case(name: "block length below 12", bytes: shb + idb + epb1 + Pcapng.block(0x99, [], bigEndian: false,
                                                                                      length: 8),
                 code: .invalidBlockLength, offset: 140, packets: 1),
            Case(name: "EPB length below its minimum", bytes: shb + idb + epb1 + epb2(length: 24),
                 code: .invalidBlockLength, offset: 140, packets: 1, messageContains: ["32"]),
            Case(name: "trailing length mismatch", bytes: shb + idb + epb1 + epb2(trailer: 88),
                 code: .blockLengthMismatch, offset: 140, packets: 1, messageContains: ["84", "88"]),
            Case(name: "block beyond the file", bytes: shb + idb + epb1 + epb2(length: 1000),
                 code: .truncated, offset: 140, packets: 1),
            Case(name: "block absurdly long", bytes: shb + idb + epb1 + epb2(length: 0x7FFF_FFFC),
                 code: .recordTooLong, offset: 140, packets: 1),
            Case(name: "unknown interface id", bytes: shb + idb + epb1 + epb2(interface: 3),
                 code: .undefinedInterface, offset: 140, packets: 1, messageContains: ["interface 3"]),
            Case(name: "EPB before any IDB", bytes: shb + epb1 + idb, code: .packetBeforeInterface, offset: 28,
                 packets: 0),
            Case(name: "SPB before any IDB", bytes: shb + Pcapng.spb(orig: 10, data: payload(10)) + idb,
                 code: .packetBeforeInterface, offset: 28, packets: 0),
            Case(name: "EPB in a new section before its IDB", bytes: shb + idb + epb1 + shb + epb2(),
                 code: .packetBeforeInterface, offset: 168, packets: 1, messageContains: ["section #1"]),
            Case(name: "captured length beyond the block", bytes: shb + idb + epb1 + epb2(caplen: 200),
                 code: .malformedBlock, offset: 140, packets: 1),
            Case(name: "captured length beyond snaplen and 262144",
                 bytes: shb + Pcapng.idb(snaplen: 100) + epb1 + epb2(caplen: 300_000),
                 code: .recordTooLong, offset: 140, packets: 1),
            Case(name: "pcapng trailing garbage", bytes: pcapng + [0, 0, 0, 0, 0, 0], code: .truncated,
                 offset: 224, packets: 2),
        ]
    }

    func check(_ c: Case, _ result: (packets: [ReadPacket], error: CaptureFileError?), how: String) {
        let label = "\(c.name) (\(how))"
        XCTAssertEqual(result.packets.count, c.packets, "\(label): packets delivered before the error")
        guard let error = result.error else {
            XCTFail("\(label): no error")
            return
        }
        XCTAssertEqual(error.code, c.code, "\(label): \(error)")
        XCTAssertEqual(error.offset, c.offset, "\(label): \(error)")
        XCTAssertFalse(error.message.isEmpty, label)
        for needle in c.messageContains {
            XCTAssertTrue(error.message.contains(needle), "\(label): message lacks \"\(needle)\": \(error.message)")
        }
        XCTAssertTrue(error.description.contains("[\(c.code)]"), label)
    }

    func testMappedFilesReportKindOffsetAndDeliverThePacketsBefore() {
        for c in Self.cases { check(c, openAndReadAll(bytes: c.bytes), how: "mapped") }
    }

    func testStreamsReportTheSameErrors() {
        for c in Self.cases { check(c, openAndReadAllAsStream(bytes: c.bytes), how: "stream") }
    }

    func testCountingReportsTheSameAsWalking() {
        for c in Self.cases {
            var n = 0
            var error: CaptureFileError?
            do {
                try CaptureFile(bytes: c.bytes).countPackets(into: &n)
            } catch let e {
                error = e
            }
            XCTAssertEqual(n, c.packets, c.name)
            XCTAssertEqual(error?.code, c.code, c.name)
            XCTAssertEqual(error?.offset, c.offset, c.name)
        }
    }

    func testIntactFixturesReadWithoutError() {
        for (bytes, lengths) in [(Self.pcapRecords(), [60, 100]), (Self.pcapRecords(big: true), [60, 100]),
                                 (Self.pcapng, [60, 50])] {
            let result = openAndReadAll(bytes: bytes)
            XCTAssertNil(result.error)
            XCTAssertEqual(result.packets.map(\.captureLength), lengths)
            XCTAssertEqual(openAndReadAllAsStream(bytes: bytes).packets, result.packets)
        }
    }

    func testErrorsComeAgainOnEveryWalkOfAMappedFileAndOnceForAStream() throws {
        let bytes = Array(Self.pcapRecords().prefix(166))
        let file = try CaptureFile(bytes: bytes)
        for _ in 0..<2 {
            let r = readAll(file)
            XCTAssertEqual(r.packets.count, 1)
            XCTAssertEqual(r.error?.code, .truncated)
        }
        let stream = openAndReadAllAsStream(bytes: bytes)
        XCTAssertEqual(stream.packets.count, 1)
        XCTAssertEqual(stream.error?.offset, 100)
    }

    func testTruncatedFilesThroughTheAsyncSequence() async throws {
        let file = try CaptureFile(bytes: Array(Self.pcapng.prefix(180)))
        var count = 0
        do {
            for try await packet in file.packets {
                XCTAssertEqual(packet.captureLength, 60)
                count += 1
            }
            XCTFail("no error")
        } catch {
            XCTAssertEqual(error.code, .truncated)
            XCTAssertEqual(error.offset, 140)
        }
        XCTAssertEqual(count, 1)
    }

    func testEveryPrefixOfAGoodFileEndsCleanlyOrWithATypedError() throws {
        // Cutting anywhere gives the packets wholly before the cut, then .truncated.
        let pcapng = Self.shb + Self.idb + Self.epb1 + Self.epb2() + Pcapng.block(0xBAD, payload(8), bigEndian: false)
            + Self.epb1
        let packetEnds = [140, 224, 336]
        for cut in 0...pcapng.count {
            let r = openAndReadAll(bytes: Array(pcapng.prefix(cut)))
            let whole = packetEnds.filter { $0 <= cut }.count
            XCTAssertEqual(r.packets.count, whole, "cut at \(cut)")
            let boundaries = [28, 48, 140, 224, 244, 336]
            if boundaries.contains(cut) {
                XCTAssertNil(r.error, "cut at \(cut)")
            } else {
                XCTAssertEqual(r.error?.code, .truncated, "cut at \(cut): \(String(describing: r.error))")
            }
        }
        let pcap = Self.pcapRecords()
        for cut in 0...pcap.count {
            let r = openAndReadAll(bytes: Array(pcap.prefix(cut)))
            XCTAssertEqual(r.packets.count, [100, 216].filter { $0 <= cut }.count, "pcap cut at \(cut)")
            if [24, 100, 216].contains(cut) {
                XCTAssertNil(r.error, "pcap cut at \(cut)")
            } else {
                XCTAssertEqual(r.error?.code, .truncated, "pcap cut at \(cut)")
            }
        }
    }

    func testOpeningMissingFilesAndDirectoriesFailsWithErrno() {
        do {
            _ = try CaptureFile(path: "/nonexistent/file.pcap")
            XCTFail("opened a missing file")
        } catch {
            XCTAssertEqual(error.code, .systemCallFailed)
            XCTAssertEqual(error.errno, ENOENT)
            XCTAssertNil(error.offset)
            XCTAssertTrue(error.description.contains("/nonexistent/file.pcap"))
        }
        do {
            _ = try CaptureFile(path: FilesSupport.samples.path)
            XCTFail("opened a directory")
        } catch {
            XCTAssertEqual(error.code, .systemCallFailed)
            XCTAssertEqual(error.errno, EISDIR)
        }
    }

    func testAStreamNeverAllocatesWhatAHeaderMerelyClaims() throws {
        // A 100 MiB record claimed (within the 256 MiB limit since snaplen says so),
        // 16 bytes present: the stream reports truncation without allocating 100 MiB.
        var bytes = Pcap.file(snaplen: 200 << 20, records: [])
        var record = ByteBuilder()
        record.u32(1); record.u32(0); record.u32(100 << 20); record.u32(100 << 20)
        bytes += record.bytes + payload(16)
        let before = residentBytes()
        let r = openAndReadAllAsStream(bytes: bytes)
        XCTAssertEqual(r.error?.code, .truncated)
        XCTAssertEqual(r.error?.offset, 24)
        XCTAssertLessThan(residentBytes() - before, 50 << 20, "the stream buffer grew to the claimed length")
    }

    private func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
