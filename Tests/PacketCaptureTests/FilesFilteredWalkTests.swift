import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

/// Filtering in the library (`PacketFilter`, `CaptureFile.forEachRecord(matching:)`),
/// non-packet blocks as `CaptureFileRecord.block`, and the synchronous iterator
/// (issue 11, "API and structure"). Every file is crafted here, so each expected
/// count is known by construction.
final class FilesFilteredWalkTests: XCTestCase {
    // MARK: The crafted file

    private typealias C = BPFCraft

    private static let ethernetTCP = C.ethernet(type: 0x0800, C.ipv4(src: "10.0.0.1", dst: "10.0.0.2", proto: 6,
                                                                    C.tcp(1000, 80, flags: C.syn)))
    private static let ethernetUDP = C.ethernet(type: 0x0800, C.ipv4(src: "10.0.0.1", dst: "10.0.0.2", proto: 17,
                                                                    C.udp(1000, 53, payload: 4)))
    private static let ethernetARP = C.ethernet(dst: "ff:ff:ff:ff:ff:ff", type: 0x0806,
                                                C.arp(op: 1, senderMAC: "02:00:00:00:00:01", senderIP: "10.0.0.1",
                                                      targetMAC: "00:00:00:00:00:00", targetIP: "10.0.0.2"))
    private static let rawTCP = C.ipv4(src: "10.0.0.3", dst: "10.0.0.4", proto: 6, C.tcp(2000, 443, flags: C.ack))
    private static let rawUDP = C.ipv4(src: "10.0.0.3", dst: "10.0.0.4", proto: 17, C.udp(2000, 9))
    private static let rawIPv6TCP = C.ipv6(src: "2001:db8::1", dst: "2001:db8::2", next: 6, C.tcp(3000, 22, flags: C.syn))

    /// Interface Statistics Block (type 5) for interface 0, no options.
    private static func isb(bigEndian: Bool = false) -> [UInt8] {
        var b = ByteBuilder(bigEndian: bigEndian)
        b.u32(0)
        b.u32(0)
        b.u32(7)
        return Pcapng.block(5, b.bytes, bigEndian: bigEndian)
    }

    /// Section 0 (little-endian): Ethernet interface, three packets, then a raw-IP
    /// interface declared mid-stream, three raw packets, one more Ethernet TCP
    /// packet and statistics. Section 1 (big-endian): one Ethernet TCP packet.
    private static let file: [UInt8] = {
        var f = Pcapng.shb() + Pcapng.idb(linkType: 1)
        f += Pcapng.epb(interface: 0, units: 1, data: ethernetTCP)
        f += Pcapng.epb(interface: 0, units: 2, data: ethernetUDP)
        f += Pcapng.epb(interface: 0, units: 3, data: ethernetARP)
        f += Pcapng.idb(linkType: 101)
        f += Pcapng.epb(interface: 1, units: 4, data: rawTCP)
        f += Pcapng.epb(interface: 1, units: 5, data: rawUDP)
        f += Pcapng.epb(interface: 1, units: 6, data: rawIPv6TCP)
        f += Pcapng.epb(interface: 0, units: 7, data: ethernetTCP)
        f += isb()
        f += Pcapng.shb(bigEndian: true) + Pcapng.idb(bigEndian: true, linkType: 1)
        f += Pcapng.epb(bigEndian: true, interface: 0, units: 8, data: ethernetTCP)
        return f
    }()

    /// What each filter matches in `file`, by timestamp unit (one per packet).
    private static let expected: [(String, [Int64])] = [
        ("tcp", [1, 4, 6, 7, 8]),
        ("udp", [2, 5]),
        ("ip6", [6]),
        ("tcp port 443", [4]),
        ("", [1, 2, 3, 4, 5, 6, 7, 8]),
    ]

    /// Microsecond units as nanoseconds.
    private static func unit(_ view: PacketView) -> Int64 { Int64(view.timestamp!.nanoseconds) / 1000 }

    private func filter(_ expression: String) throws -> PacketFilter {
        PacketFilter(expression, helperPath: try BuiltProducts.helper())
    }

    // MARK: Filtered walks

    func testFilteredWalkMatchesEachLinkTypeAlsoWhenItAppearsMidStream() async throws {
        for (expression, units) in Self.expected {
            let mapped = try CaptureFile(bytes: Self.file)
            var seen: [Int64] = []
            try await mapped.forEachPacket(matching: try filter(expression)) { seen.append(Self.unit($0)) }
            XCTAssertEqual(seen, units, "mapped, \(expression)")
            var counted = 0
            try await mapped.countPackets(matching: try filter(expression), into: &counted)
            XCTAssertEqual(counted, units.count, "mapped, counted, \(expression)")

            // Read as a stream, the raw-IP interface is unknown until its block
            // arrives: the walk pauses there, compiles, and resumes with that packet.
            let streamed = try await withPipe(Self.file) { fd in
                let stream = try CaptureFile(fileDescriptor: fd, path: "pipe")
                XCTAssertFalse(stream.linkTypesAreComplete)
                var seen: [Int64] = []
                try await stream.forEachPacket(matching: try self.filter(expression)) { seen.append(Self.unit($0)) }
                return seen
            }
            XCTAssertEqual(streamed, units, "stream, \(expression)")
            let streamCount = try await withPipe(Self.file) { fd in
                var counted = 0
                try await CaptureFile(fileDescriptor: fd, path: "pipe")
                    .countPackets(matching: try self.filter(expression), into: &counted)
                return counted
            }
            XCTAssertEqual(streamCount, units.count, "stream, counted, \(expression)")
        }
    }

    func testFilteredRecordsKeepEveryBlockInFileOrder() async throws {
        let file = try CaptureFile(bytes: Self.file)
        var events: [String] = []
        try await file.forEachRecord(matching: try filter("udp")) { record in
            switch record {
            case .block(let block): events.append("\(block.sectionIndex):block\(block.type)")
            case .packet(let view): events.append("\(view.sectionIndex):packet\(Self.unit(view))")
            }
            return true
        }
        XCTAssertEqual(events, ["0:block168627466", "0:block1", "0:packet2", "0:block1", "0:packet5", "0:block5",
                                "1:block168627466", "1:block1"])
    }

    func testAFilteredCopyByTheCLIKeepsTheBlocksThatAreNotPackets() throws {
        let dir = try makeTemporaryDirectory("swiftcap-scC-copy")
        defer { removeTemporary(dir) }
        let source = dir + "/in.pcapng", copy = dir + "/out.pcapng"
        try Data(Self.file).write(to: URL(fileURLWithPath: source))
        // Through standard input: the raw-IP interface appears mid-stream.
        let r = try runProcess(["/bin/sh", "-c", "\"$0\" read --helper \"$1\" - -w \"$2\" udp < \"$3\"",
                                try BuiltProducts.cli(), try BuiltProducts.helper(), copy, source], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        var records: [String] = []
        try CaptureFile(path: copy).forEachRecord { record in
            switch record {
            case .block(let block): records.append("\(block.sectionIndex):b\(block.type)")
            case .packet(let view): records.append("\(view.sectionIndex):p\(Self.unit(view))")
            }
            return true
        }
        // Both sections, every interface (read from a stream, the raw-IP one where
        // it appeared), the statistics, and only the UDP packets.
        XCTAssertEqual(records, ["0:b168627466", "0:b1", "0:p2", "0:b1", "0:p5", "0:b5", "1:b168627466", "1:b1"])
        let tshark = try runProcess(["/usr/bin/tshark", "-r", copy, "-T", "fields", "-e", "frame.number"], timeout: 60)
        XCTAssertEqual(tshark.status, 0, "tshark (installed by .ci/setup): \(tshark.stderr)")
        XCTAssertEqual(tshark.stdout.split(separator: "\n").count, 2, tshark.stdout)
    }

    func testReturningFalseEndsTheWalkAndAStreamContinuesAfterThatPacket() async throws {
        let rest = try await withPipe(Self.file) { fd in
            let stream = try CaptureFile(fileDescriptor: fd, path: "pipe")
            var first: [Int64] = []
            try await stream.forEachRecord(matching: try self.filter("tcp")) { record in
                if case .packet(let view) = record { first.append(Self.unit(view)) }
                return first.count < 2
            }
            XCTAssertEqual(first, [1, 4])
            var rest: [Int64] = []
            try stream.forEachPacket { rest.append(Self.unit($0)) }
            return rest
        }
        XCTAssertEqual(rest, [5, 6, 7, 8])
    }

    func testACountOfADamagedFileHoldsTheMatchesBeforeTheDamage() async throws {
        // Cut inside the raw-IP UDP packet (timestamp unit 5): tcp matched 1 and 4 before it.
        var cutAt = 0
        try CaptureFile(bytes: Self.file).forEachPacket { if Self.unit($0) == 5 { cutAt = $0.fileOffset + 20 } }
        let file = try CaptureFile(bytes: Array(Self.file.prefix(cutAt)))
        var counted = 0
        do {
            try await file.countPackets(matching: try filter("tcp"), into: &counted)
            XCTFail("a cut file counted to its end")
        } catch let error as CaptureFileError {
            XCTAssertEqual(error.code, .truncated)
        }
        XCTAssertEqual(counted, 2)
    }

    func testAFilterThatDoesNotCompileFailsBeforeAnyPacket() async throws {
        let file = try CaptureFile(bytes: Self.file)
        var delivered = 0
        do {
            try await file.forEachPacket(matching: try filter("tcp port")) { _ in delivered += 1 }
            XCTFail("an incomplete expression compiled")
        } catch let error as CaptureError {
            XCTAssertEqual(error.code, .filterInvalid, "\(error)")
        }
        XCTAssertEqual(delivered, 0)
    }

    func testABlankFilterNeedsNoHelper() async throws {
        let file = try CaptureFile(bytes: Self.file)
        let everything = PacketFilter("  ", helperPath: "/nonexistent/swiftcap-helper")
        XCTAssertTrue(everything.matchesEverything)
        var n = 0
        try await file.forEachPacket(matching: everything) { _ in n += 1 }
        XCTAssertEqual(n, 8)
    }

    func testAFilterMatchesCopiedAndLivePackets() async throws {
        let tcp = try filter("tcp")
        let packet = { (bytes: [UInt8], linkType: LinkType) in
            Packet(timestamp: Timestamp(seconds: 1, nanoseconds: 0), wireLength: bytes.count, bytes: bytes[...],
                   linkType: linkType, interfaceIndex: 0)
        }
        let verdicts = try await [
            tcp.matches(packet(Self.ethernetTCP, .ethernet)), tcp.matches(packet(Self.ethernetUDP, .ethernet)),
            tcp.matches(packet(Self.rawIPv6TCP, .raw)), tcp.matches(packet(Self.rawUDP, .raw)),
        ]
        XCTAssertEqual(verdicts, [true, false, true, false])
    }

    func testFilesOfTheOtherByteOrderFilterAsTcpdumpFilters() async throws {
        // A big-endian host's Ethernet capture: the helper compiled such filters for
        // DLT_NULL (its in-memory savefile header lost the link type's low byte).
        let ethernetIPv6 = C.ethernet(type: 0x86DD, Self.rawIPv6TCP)
        let packets = [Self.ethernetTCP, Self.ethernetUDP, Self.ethernetARP, ethernetIPv6, Self.ethernetTCP]
        var bytes = ByteBuilder(bigEndian: true)
        bytes.u32(0xA1B2_C3D4); bytes.u16(2); bytes.u16(4); bytes.u32(0); bytes.u32(0); bytes.u32(262_144); bytes.u32(1)
        for (i, p) in packets.enumerated() {
            bytes.u32(UInt32(i)); bytes.u32(0); bytes.u32(UInt32(p.count)); bytes.u32(UInt32(p.count)); bytes.raw(p)
        }
        let dir = try makeTemporaryDirectory("swiftcap-scC-byteorder")
        defer { removeTemporary(dir) }
        let path = dir + "/big-endian-ethernet.pcap"
        try Data(bytes.bytes).write(to: URL(fileURLWithPath: path))
        let file = try CaptureFile(path: path)
        XCTAssertTrue(file.isByteSwapped == (1.littleEndian == 1))
        for (expression, count) in [("tcp", 3), ("udp", 1), ("arp", 1), ("ip6", 1), ("ip", 3)] {
            let r = try runProcess(["/usr/bin/tcpdump", "-r", path, "--count", expression])
            XCTAssertEqual(r.status, 0, "tcpdump (installed by .ci/setup): \(r.stderr)")
            XCTAssertEqual(Int(r.stdout.split(separator: " ").first ?? ""), count, "tcpdump, \(expression)")
            var ours = 0
            try await file.forEachPacket(matching: try filter(expression)) { _ in ours += 1 }
            XCTAssertEqual(ours, count, expression)
        }
    }

    // MARK: The synchronous iterator

    func testTheIteratorHandsOutWhatTheWalksDo() throws {
        let file = try CaptureFile(bytes: Self.file)
        var walked: [Int64] = []
        try file.forEachPacket { walked.append(Self.unit($0)) }
        var views: [PacketView] = []
        var iterator = file.makePacketIterator()
        while let view = try iterator.next() { views.append(view) }
        XCTAssertEqual(views.map(Self.unit), walked)
        // Views of a mapped (or in-memory) file stay valid while the file lives.
        XCTAssertEqual(Array(views[3].bytes), Self.rawTCP)
        XCTAssertEqual(Array(views[0].bytes), Self.ethernetTCP)

        var records: [String] = []
        var all = file.makePacketIterator()
        while let record = try all.nextRecord() {
            switch record {
            case .block(let block): records.append("b\(block.type)")
            case .packet(let view): records.append("p\(Self.unit(view))")
            }
        }
        XCTAssertEqual(records, ["b168627466", "b1", "p1", "p2", "p3", "b1", "p4", "p5", "p6", "p7", "b5",
                                 "b168627466", "b1", "p8"])
    }

    func testTheIteratorThrowsAtDamageAfterEveryCompletePacket() throws {
        // Cut into the 5th packet's block.
        let cut = Array(Self.file.prefix(Self.file.count - 200))
        let file = try CaptureFile(bytes: cut)
        var walkedError: CaptureFileError?
        var walked = 0
        do { try file.forEachPacket { _ in walked += 1 } } catch let e as CaptureFileError { walkedError = e }
        var iterator = file.makePacketIterator()
        var pulled = 0
        do {
            while try iterator.next() != nil { pulled += 1 }
            XCTFail("a cut file read to its end")
        } catch {
            XCTAssertEqual(error, walkedError)
            XCTAssertEqual(error.code, .truncated)
        }
        XCTAssertEqual(pulled, walked)
        XCTAssertGreaterThan(pulled, 0)
    }

    // MARK: Pipes

    /// Runs `body` on the read end of a pipe that a thread fills with `bytes`.
    private func withPipe<T>(_ bytes: [UInt8], _ body: (Int32) async throws -> T) async throws -> T {
        guard let readEnd = pipeFilled(with: bytes) else {
            throw TestSupportError("pipe: \(String(cString: strerror(errno)))")
        }
            defer {
            var sink = [UInt8](repeating: 0, count: 65536)
            while read(readEnd, &sink, sink.count) > 0 {}   // lets the writer finish
            close(readEnd)
        }
        return try await body(readEnd)
    }
}
