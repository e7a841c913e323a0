import Foundation
import PacketCapture
import XCTest

/// Both write paths of `CaptureFileWriter` (`write(_:)` for packets the caller
/// builds, `write(view:)` for packets read from a file) store the wire length
/// the packet says, even below its captured length, and map interfaces the
/// same way. Read back by the reader and by tshark.
///
/// Bad inputs tried here, and what the writer does:
///
/// | input | result |
/// |---|---|
/// | `Packet.wireLength` below `captureLength` (pcap, pcapng, with and without timestamp) | stored as given; an EPB, never an SPB that would lose the captured length |
/// | `Packet.wireLength` -1 or 2^32 | `.invalidArgument`, nothing written |
/// | packet of link type 101 on an interface declared as 1 | `.linkTypeMismatch` |
/// | packet naming an interface never added | `.invalidArgument` naming `addInterface` |
final class WriterWireLengthTests: TemporaryDirectoryTestCase {
    /// (captured bytes, wire length): equal, below (twice, one of them 0), above.
    let cases: [(data: [UInt8], wire: Int)] = [
        (payload(60), 60),
        (payload(80, seed: 2), 40),
        (payload(70, seed: 3), 1500),
        (payload(64, seed: 4), 0),
    ]

    private func readBack(_ path: String) throws -> [ReadPacket] {
        let result = readAll(try CaptureFile(path: path))
        XCTAssertNil(result.error, path)
        return result.packets
    }

    /// frame.cap_len and frame.len as tshark reads `path`.
    private func tsharkLengths(_ path: String) throws -> [String] {
        let lines = try XCTUnwrap(try FilesSupport.tsharkLines(path))
        return lines.map {
            let fields = $0.split(separator: "\t", omittingEmptySubsequences: false)
            return "\(fields[1])/\(fields[2])"
        }
    }

    private var expectedLengths: [String] { cases.map { "\($0.data.count)/\($0.wire)" } }

    func testWritingPacketsKeepsAWireLengthBelowTheCapturedLength() throws {
        for format in [CaptureFileFormat.pcap, .pcapng] {
            for withTimestamps in [true, false] {
                let p = path("packets-\(format)-\(withTimestamps).\(format)")
                let writer = try CaptureFileWriter(path: p, format: format)
                for (i, c) in cases.enumerated() {
                    let ts = withTimestamps ? Timestamp(seconds: 1_700_000_000 + Int64(i), nanoseconds: 1000) : nil
                    try writer.write(Packet(timestamp: ts, wireLength: c.wire, bytes: ArraySlice(c.data),
                                            linkType: .ethernet))
                }
                try writer.close()
                let read = try readBack(p)
                let what = "\(format), timestamps: \(withTimestamps)"
                XCTAssertEqual(read.map(\.captureLength), cases.map(\.data.count), what)
                XCTAssertEqual(read.map(\.wireLength), cases.map(\.wire), what)
                XCTAssertEqual(read.map(\.bytes), cases.map(\.data), what)
                XCTAssertEqual(try tsharkLengths(p), expectedLengths, what)
            }
        }
    }

    func testWritingViewsKeepsAWireLengthBelowTheCapturedLength() throws {
        let records = cases.enumerated().map { i, c in
            (sec: UInt32(100 + i), frac: UInt32(i), data: c.data, orig: Optional(UInt32(c.wire)))
        }
        for bigEndian in [false, true] {
            var pcapng = Pcapng.shb(bigEndian: bigEndian) + Pcapng.idb(bigEndian: bigEndian)
            for (i, c) in cases.enumerated() {
                pcapng += Pcapng.epb(bigEndian: bigEndian, units: UInt64(i + 1), data: c.data, orig: UInt32(c.wire))
            }
            let sources: [(name: String, bytes: [UInt8])] = [
                ("pcap", Pcap.file(bigEndian: bigEndian, records: records)), ("pcapng", pcapng),
            ]
            for source in sources {
                let sourcePath = path("source-\(bigEndian).\(source.name)")
                XCTAssertTrue(FileManager.default.createFile(atPath: sourcePath, contents: Data(source.bytes)))
                for format in [CaptureFileFormat.pcap, .pcapng] {
                    let p = path("views-\(bigEndian)-\(source.name).\(format)")
                    let writer = try CaptureFileWriter(path: p, format: format)
                    try CaptureFile(path: sourcePath).forEachPacket { try writer.write(view: $0) }
                    try writer.close()
                    let what = "\(source.name) → \(format), big-endian source: \(bigEndian)"
                    let read = try readBack(p)
                    XCTAssertEqual(read.map(\.wireLength), cases.map(\.wire), what)
                    XCTAssertEqual(read.map(\.bytes), cases.map(\.data), what)
                    XCTAssertEqual(try tsharkLengths(p), expectedLengths, what)
                }
            }
        }
    }

    /// A Simple Packet Block stores only the wire length, so a packet without
    /// timestamp whose wire length is below its captured length becomes an EPB
    /// (timestamp 0), and one that loses nothing an SPB (no timestamp), on
    /// either path.
    func testBothPathsChooseTheSameBlockForAPacketWithoutTimestamp() throws {
        let direct = path("direct.pcapng")
        let writer = try CaptureFileWriter(path: direct, format: .pcapng)
        try writer.write(Packet(timestamp: nil, wireLength: 40, bytes: ArraySlice(payload(80)), linkType: .ethernet))
        try writer.write(Packet(timestamp: nil, wireLength: 90, bytes: ArraySlice(payload(90)), linkType: .ethernet))
        try writer.close()
        // The view path re-encodes (rather than copies) blocks of the other byte order.
        let swappedSource = path("swapped.pcapng")
        let bigEndian = Pcapng.shb(bigEndian: true) + Pcapng.idb(bigEndian: true)
            + Pcapng.epb(bigEndian: true, units: 0, data: payload(80), orig: 40)
            + Pcapng.spb(bigEndian: true, orig: 90, data: payload(90))
        XCTAssertTrue(FileManager.default.createFile(atPath: swappedSource, contents: Data(bigEndian)))
        let copied = path("copied.pcapng")
        let copier = try CaptureFileWriter(path: copied, format: .pcapng)
        try CaptureFile(path: swappedSource).forEachPacket { try copier.write(view: $0) }
        try copier.close()
        for p in [direct, copied] {
            let read = try readBack(p)
            XCTAssertEqual(read.map(\.captureLength), [80, 90], p)
            XCTAssertEqual(read.map(\.wireLength), [40, 90], p)
            XCTAssertEqual(read.map(\.bytes), [payload(80), payload(90)], p)
            XCTAssertEqual(read.map { $0.timestamp == nil }, [false, true], "EPB then SPB: \(p)")
            XCTAssertEqual(try tsharkLengths(p), ["80/40", "90/90"], p)
        }
    }

    func testBadPacketsAreTypedErrorsAndWriteNothing() throws {
        let p = path("bad.pcapng")
        let writer = try CaptureFileWriter(path: p, format: .pcapng)
        try writer.addInterface(linkType: .ethernet)
        let bad: [(Packet, CaptureFileError.Code, String)] = [
            (Packet(timestamp: nil, wireLength: -1, bytes: ArraySlice(payload(10)), linkType: .ethernet),
             .invalidArgument, "wire length -1"),
            (Packet(timestamp: nil, wireLength: 1 << 32, bytes: ArraySlice(payload(10)), linkType: .ethernet),
             .invalidArgument, "wire length 4294967296"),
            (Packet(timestamp: nil, wireLength: 10, bytes: ArraySlice(payload(10)), linkType: .raw),
             .linkTypeMismatch, "add an interface for that link type"),
            (Packet(timestamp: nil, wireLength: 10, bytes: ArraySlice(payload(10)), linkType: .ethernet,
                    interfaceIndex: 3), .invalidArgument, "call addInterface first"),
        ]
        for (packet, code, says) in bad {
            do {
                try writer.write(packet)
                XCTFail("\(packet.wireLength) on \(packet.interfaceIndex) was written")
            } catch {
                XCTAssertEqual(error.code, code, error.message)
                XCTAssertTrue(error.message.contains(says), error.message)
            }
        }
        try writer.write(Packet(timestamp: nil, wireLength: 10, bytes: ArraySlice(payload(10)), linkType: .ethernet))
        try writer.close()
        XCTAssertEqual(try readBack(p).map(\.wireLength), [10], "only the good packet")
    }
}
