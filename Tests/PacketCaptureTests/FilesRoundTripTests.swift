import Foundation
import PacketCapture
import XCTest

/// Write then read, for every format variant; hand-made files in both byte orders.
final class FilesRoundTripTests: TemporaryDirectoryTestCase {
    static let times: [Timestamp] = [
        Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789),
        Timestamp(seconds: 1_700_000_000, nanoseconds: 999_999_999),
        Timestamp(seconds: 1_700_000_001, nanoseconds: 0),
        Timestamp(seconds: 1_700_000_001, nanoseconds: 1),
        Timestamp(seconds: 4_000_000_000, nanoseconds: 500_000_000),   // past 2038, within u32
    ]

    static func packets(linkType: LinkType = .ethernet, interface: Int = 0) -> [Packet] {
        times.enumerated().map { i, t in
            let bytes = payload([42, 60, 1514, 61, 1][i], seed: i)
            return Packet(timestamp: t, wireLength: bytes.count + (i == 2 ? 100 : 0), bytes: ArraySlice(bytes),
                          linkType: linkType, interfaceIndex: interface)
        }
    }

    static func truncated(_ t: Timestamp, toMicroseconds: Bool) -> Timestamp {
        toMicroseconds ? Timestamp(seconds: t.seconds, nanoseconds: t.nanoseconds / 1000 * 1000) : t
    }

    // MARK: pcap

    func testPcapMicrosecondsAndNanoseconds() throws {
        for precision in [PcapTimestampPrecision.microseconds, .nanoseconds] {
            let p = path("rt-\(precision).pcap")
            let writer = try CaptureFileWriter(path: p, format: .pcap,
                                               options: .init(pcapTimestampPrecision: precision))
            try writer.addInterface(linkType: .ethernet, snapshotLength: 65535)
            for packet in Self.packets() { try writer.write(packet) }
            try writer.close()

            let file = try CaptureFile(path: p)
            XCTAssertEqual(file.format, .pcap)
            XCTAssertFalse(file.isStream)
            let header = try XCTUnwrap(file.pcapHeader)
            XCTAssertEqual(header.timestampPrecision, precision)
            XCTAssertEqual(header.versionMajor, 2)
            XCTAssertEqual(header.versionMinor, 4)
            XCTAssertEqual(header.snapshotLength, 65535)
            XCTAssertEqual(header.linkType, .ethernet)
            XCTAssertFalse(header.isByteSwapped)
            XCTAssertNil(header.fcsLength)
            XCTAssertEqual(file.linkTypes(), [.ethernet])

            let read = readAll(file)
            XCTAssertNil(read.error)
            let expected = Self.packets().map { packet -> ReadPacket in
                var r = ReadPacket(packet)
                r.timestamp = Self.truncated(packet.timestamp!, toMicroseconds: precision == .microseconds)
                return r
            }
            XCTAssertEqual(read.packets, expected, "\(precision)")
        }
    }

    func testAutomaticPcapPrecisionFollowsTheInterfaceResolution() throws {
        for (resolution, expected) in [(TimestampResolution.nanoseconds, PcapTimestampPrecision.nanoseconds),
                                       (.microseconds, .microseconds), (.decimal(3), .microseconds),
                                       (.binary(30), .nanoseconds), (.decimal(12), .nanoseconds)] {
            let p = path("auto.pcap")
            let writer = try CaptureFileWriter(path: p, format: .pcap)
            try writer.addInterface(linkType: .raw, timestampResolution: resolution)
            XCTAssertEqual(writer.pcapTimestampPrecision, expected, "\(resolution)")
            try writer.close()
            XCTAssertEqual(try CaptureFile(path: p).pcapHeader?.timestampPrecision, expected)
        }
        // The first packet adds an interface (ns by default) when none was declared.
        let p = path("implicit.pcap")
        let writer = try CaptureFileWriter(path: p, format: .pcap)
        try writer.write(Self.packets()[0])
        try writer.close()
        let read = readAll(try CaptureFile(path: p))
        XCTAssertEqual(read.packets.first?.timestamp, Self.times[0])
    }

    func testHandWrittenBigEndianPcapInBothPrecisions() throws {
        for nanoseconds in [false, true] {
            for big in [false, true] {
                let bytes = Pcap.file(bigEndian: big, nanoseconds: nanoseconds, snaplen: 96,
                                      linkTypeField: 0x3000_0001,   // f bit + 1 word of FCS, Ethernet
                                      records: [(1_700_000_000, nanoseconds ? 123_456_789 : 123_456, payload(96), 1500),
                                                (1_700_000_001, 7, payload(20), nil)])
                let file = try CaptureFile(bytes: bytes)
                let header = try XCTUnwrap(file.pcapHeader)
                XCTAssertEqual(header.isByteSwapped, big == (1.littleEndian == 1))
                XCTAssertEqual(header.timestampPrecision, nanoseconds ? .nanoseconds : .microseconds)
                XCTAssertEqual(header.snapshotLength, 96)
                XCTAssertEqual(header.linkType, .ethernet)
                XCTAssertEqual(header.linkTypeField, 0x3000_0001)
                XCTAssertTrue(header.hasFCSLength)
                XCTAssertEqual(header.fcsLength, 2)
                let read = readAll(file)
                XCTAssertNil(read.error)
                XCTAssertEqual(read.packets.map(\.timestamp), [
                    Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789 / (nanoseconds ? 1 : 1000) * (nanoseconds ? 1 : 1000)),
                    Timestamp(seconds: 1_700_000_001, nanoseconds: nanoseconds ? 7 : 7000),
                ])
                XCTAssertEqual(read.packets.map(\.wireLength), [1500, 20])
                XCTAssertEqual(read.packets.map(\.bytes), [payload(96), payload(20)])

                // Copying keeps the link-type field (FCS bits) and the exact timestamps.
                let p = path("copy.pcap")
                let writer = try CaptureFileWriter(path: p, format: .pcap)
                try writer.addInterfaces(of: file)
                try file.forEachPacket { try writer.write(view: $0) }
                try writer.close()
                let copy = try CaptureFile(path: p)
                XCTAssertEqual(copy.pcapHeader?.linkTypeField, 0x3000_0001)
                XCTAssertEqual(copy.pcapHeader?.timestampPrecision, header.timestampPrecision)
                XCTAssertFalse(copy.pcapHeader!.isByteSwapped)
                XCTAssertEqual(readAll(copy).packets, read.packets)
            }
        }
    }

    func testOutOfRangeFractionsCarryIntoSecondsInsteadOfCrashing() throws {
        let bytes = Pcap.file(records: [(10, 2_500_000, payload(4), nil)])   // 2.5 s worth of µs
        let read = readAll(try CaptureFile(bytes: bytes))
        XCTAssertEqual(read.packets.first?.timestamp, Timestamp(seconds: 12, nanoseconds: 500_000_000))
    }

    func testWritingPcapWithTwoLinkTypesIsATypedErrorAndLeavesAValidFile() throws {
        let p = path("mixed.pcap")
        let writer = try CaptureFileWriter(path: p, format: .pcap)
        try writer.addInterface(linkType: .ethernet)
        try writer.write(Self.packets()[0])
        XCTAssertThrowsError(try writer.addInterface(linkType: .raw)) { error in
            XCTAssertEqual((error as? CaptureFileError)?.code, .linkTypeMismatch)
        }
        XCTAssertThrowsError(try writer.write(Self.packets(linkType: .raw)[1])) { error in
            XCTAssertEqual((error as? CaptureFileError)?.code, .linkTypeMismatch)
        }
        XCTAssertThrowsError(try writer.write(Self.packets(interface: 5)[1])) { error in
            XCTAssertEqual((error as? CaptureFileError)?.code, .invalidArgument)
        }
        try writer.write(Self.packets()[1])
        try writer.close()
        XCTAssertThrowsError(try writer.write(Self.packets()[2])) { error in
            XCTAssertEqual((error as? CaptureFileError)?.code, .invalidArgument)
        }
        let read = readAll(try CaptureFile(path: p))
        XCTAssertNil(read.error)
        XCTAssertEqual(read.packets.count, 2)

        // From a pcapng source with two link types.
        let source = try CaptureFile(bytes: Pcapng.shb() + Pcapng.idb(linkType: 1) + Pcapng.idb(linkType: 101)
            + Pcapng.epb(interface: 0, units: 1, data: payload(20)) + Pcapng.epb(interface: 1, units: 2, data: payload(20)))
        XCTAssertEqual(source.linkTypes(), [.ethernet, .raw])
        let q = path("from-mixed.pcap")
        let w2 = try CaptureFileWriter(path: q, format: .pcap)
        var thrown: CaptureFileError?
        do {
            try source.forEachPacket { try w2.write(view: $0) }
        } catch let e as CaptureFileError {
            thrown = e
        }
        XCTAssertEqual(thrown?.code, .linkTypeMismatch)
        try w2.close()
        let partial = readAll(try CaptureFile(path: q))
        XCTAssertNil(partial.error)
        XCTAssertEqual(partial.packets.count, 1)
    }

    // MARK: pcapng

    func testPcapngSeveralInterfacesResolutionsOffsetsCommentsAndSPB() throws {
        struct Spec {
            var linkType: LinkType
            var resolution: TimestampResolution
            var offset: Int64
            var name: String
        }
        let specs = [
            Spec(linkType: .ethernet, resolution: .nanoseconds, offset: 0, name: "eth0"),
            Spec(linkType: .raw, resolution: .microseconds, offset: 0, name: "tun0"),
            Spec(linkType: .ethernet, resolution: .decimal(3), offset: 0, name: "ms"),
            Spec(linkType: .linuxSLL, resolution: .binary(20), offset: 0, name: "bin20"),
            // 64 bits of picoseconds span 213 days: if_tsoffset brings the epoch near.
            Spec(linkType: .ethernet, resolution: .decimal(12), offset: 1_699_999_000, name: "ps"),
            Spec(linkType: .ethernet, resolution: .nanoseconds, offset: 1_000_000_000, name: "offset"),
            Spec(linkType: .ipv4, resolution: .binary(10), offset: -3600, name: "bin10"),
        ]
        let p = path("multi.pcapng")
        let writer = try CaptureFileWriter(path: p, format: .pcapng)
        for (i, s) in specs.enumerated() {
            let index = try writer.addInterface(linkType: s.linkType, snapshotLength: i == 0 ? 0 : 1000 + i,
                                                name: s.name, description: "interface #\(i)",
                                                timestampResolution: s.resolution, timestampOffset: s.offset)
            XCTAssertEqual(index, i)
        }
        var expected: [ReadPacket] = []
        for (i, s) in specs.enumerated() {
            for (j, t) in Self.times.enumerated() {
                let bytes = payload(10 + i * 7 + j, seed: i * 10 + j)
                var packet = Packet(timestamp: t, wireLength: bytes.count + j, bytes: ArraySlice(bytes),
                                    linkType: s.linkType, interfaceIndex: i)
                if j == 1 { packet.comments = ["comment \(i)", "second, with ünïcode and \"quotes\""] }
                if s.name == "ps" && t.seconds > 1_700_100_000 {
                    XCTAssertThrowsError(try writer.write(packet), "beyond 2^64 ps after the offset") { error in
                        XCTAssertEqual((error as? CaptureFileError)?.code, .invalidArgument)
                    }
                    continue
                }
                try writer.write(packet)
                var r = ReadPacket(packet)
                r.timestamp = expectedTimestamp(t, s.resolution)
                expected.append(r)
            }
        }
        // Packets without timestamp: an SPB on interface 0; an EPB with timestamp 0 elsewhere.
        let untimed = Packet(timestamp: nil, wireLength: 33, bytes: ArraySlice(payload(33)), linkType: .ethernet)
        try writer.write(untimed)
        expected.append(ReadPacket(untimed))
        let untimedRaw = Packet(timestamp: nil, wireLength: 20, bytes: ArraySlice(payload(20)), linkType: .raw,
                                interfaceIndex: 1)
        try writer.write(untimedRaw)
        var r = ReadPacket(untimedRaw)
        r.timestamp = Timestamp(seconds: 0, nanoseconds: 0)
        expected.append(r)
        try writer.close()

        let file = try CaptureFile(path: p)
        XCTAssertEqual(file.format, .pcapng)
        XCTAssertNil(file.pcapHeader)
        XCTAssertEqual(file.linkTypes(), [.ethernet, .raw, .linuxSLL, .ipv4])
        let section = try XCTUnwrap(file.sections.first)
        XCTAssertEqual(file.sections.count, 1)
        XCTAssertEqual(section.userApplication, "swiftcap")
        XCTAssertNotNil(section.os)
        XCTAssertEqual(section.interfaces.map(\.name), specs.map(\.name))
        XCTAssertEqual(section.interfaces.map(\.interfaceDescription), specs.indices.map { "interface #\($0)" })
        XCTAssertEqual(section.interfaces.map(\.timestampResolution), specs.map(\.resolution))
        XCTAssertEqual(section.interfaces.map(\.timestampOffset), specs.map(\.offset))
        XCTAssertEqual(section.interfaces.map(\.linkType), specs.map(\.linkType))
        XCTAssertEqual(section.interfaces.map(\.snapshotLength), specs.indices.map { $0 == 0 ? 0 : UInt32(1000 + $0) })
        let read = readAll(file)
        XCTAssertNil(read.error)
        XCTAssertEqual(read.packets.count, expected.count)
        for (a, b) in zip(read.packets, expected) { XCTAssertEqual(a, b) }
        // The untimed packet on interface 0 went out as an SPB.
        XCTAssertNil(read.packets[read.packets.count - 2].timestamp)
    }

    /// What a timestamp becomes after a trip through `resolution` (truncated).
    func expectedTimestamp(_ t: Timestamp, _ resolution: TimestampResolution) -> Timestamp {
        let e = resolution.exponent
        if resolution.isBinary {
            let units = (UInt64(t.nanoseconds) << UInt64(e)) / 1_000_000_000
            return Timestamp(seconds: t.seconds, nanoseconds: UInt32((units * 1_000_000_000) >> UInt64(e)))
        }
        if e >= 9 { return t }
        var p: UInt32 = 1
        for _ in 0..<(9 - e) { p *= 10 }
        return Timestamp(seconds: t.seconds, nanoseconds: t.nanoseconds / p * p)
    }

    func testSimplePacketBlocksKeepTheirCapturedLength() throws {
        // SPB captured length = min(original length, snaplen, room in the block).
        let bytes = Pcapng.shb() + Pcapng.idb(snaplen: 64)
            + Pcapng.spb(orig: 100, data: payload(64))    // cut by snaplen
            + Pcapng.spb(orig: 30, data: payload(30))     // padded to 32: room 32, original 30
            + Pcapng.spb(orig: 200, data: payload(40))    // room 40 < snaplen (damaged writer)
        let read = readAll(try CaptureFile(bytes: bytes))
        XCTAssertNil(read.error)
        XCTAssertEqual(read.packets.map(\.captureLength), [64, 30, 40])
        XCTAssertEqual(read.packets.map(\.wireLength), [100, 30, 200])
        XCTAssertEqual(read.packets.map(\.timestamp), [nil, nil, nil])
        XCTAssertEqual(read.packets[1].bytes, payload(30))

        // Written from packets: an SPB when the reader gets the same length back.
        let p = path("spb.pcapng")
        let writer = try CaptureFileWriter(path: p, format: .pcapng)
        try writer.addInterface(linkType: .ethernet, snapshotLength: 64)
        let packets = [
            Packet(timestamp: nil, wireLength: 100, bytes: ArraySlice(payload(64)), linkType: .ethernet),
            Packet(timestamp: nil, wireLength: 30, bytes: ArraySlice(payload(30)), linkType: .ethernet),
            // Cut shorter than the snaplen: an SPB would read back 32 bytes, so an EPB (timestamp 0).
            Packet(timestamp: nil, wireLength: 100, bytes: ArraySlice(payload(30)), linkType: .ethernet),
            // Comments need options: EPB.
            Packet(timestamp: nil, wireLength: 10, bytes: ArraySlice(payload(10)), linkType: .ethernet,
                   comments: ["kept"]),
        ]
        for packet in packets { try writer.write(packet) }
        try writer.close()
        let back = readAll(try CaptureFile(path: p))
        XCTAssertNil(back.error)
        XCTAssertEqual(back.packets.map(\.captureLength), [64, 30, 30, 10])
        XCTAssertEqual(back.packets.map(\.wireLength), [100, 30, 100, 10])
        XCTAssertEqual(back.packets.map(\.timestamp), [nil, nil, Timestamp(seconds: 0, nanoseconds: 0),
                                                       Timestamp(seconds: 0, nanoseconds: 0)])
        XCTAssertEqual(back.packets[3].comments, ["kept"])
    }

    /// A big-endian file with two sections, every block type, and options of all kinds.
    static func richBigEndianFile(big: Bool = true) -> [UInt8] {
        let be = big
        let shbOptions: [Pcapng.Option] = [
            Pcapng.string(2, "Test Hardware"), Pcapng.string(3, "Test OS 1.0"), Pcapng.string(4, "hand-made"),
            Pcapng.string(1, "section comment"),
            (2989, Pcapng.int(0, UInt32(0x7FFF), bigEndian: be).value + Array("custom".utf8)),
        ]
        let idbOptions: [Pcapng.Option] = [
            Pcapng.string(2, "eth0"), Pcapng.string(3, "first interface"), (9, [9]),
            Pcapng.int(8, UInt64(1_000_000_000), bigEndian: be), Pcapng.int(14, Int64(100), bigEndian: be),
            Pcapng.string(12, "Linux"), (13, [32]), Pcapng.string(1, "interface comment"),
        ]
        let epbOptions: [Pcapng.Option] = [
            Pcapng.string(1, "packet comment"), Pcapng.string(1, "another"),
            Pcapng.int(2, UInt32(0x0000_0001), bigEndian: be),            // epb_flags: inbound
            (3, [2] + payload(16)),                                         // epb_hash: MD5
            Pcapng.int(4, UInt64(42), bigEndian: be),                       // epb_dropcount
            Pcapng.int(5, UInt64(0x1122_3344_5566_7788), bigEndian: be),    // epb_packetid
            Pcapng.int(6, UInt32(3), bigEndian: be),                        // epb_queue
        ]
        var bytes = Pcapng.shb(bigEndian: be, options: shbOptions)
        bytes += Pcapng.idb(bigEndian: be, linkType: 1, snaplen: 262_144, options: idbOptions)
        bytes += Pcapng.block(4, [0, 0, 0, 0], bigEndian: be)                          // empty NRB
        bytes += Pcapng.idb(bigEndian: be, linkType: 101, snaplen: 0,
                            options: [Pcapng.string(2, "tun0"), (9, [0x80 | 20])])     // 2^-20 s
        bytes += Pcapng.epb(bigEndian: be, interface: 0, units: 1_700_000_000_123_456_789, data: payload(61),
                            orig: 1000, options: epbOptions)
        bytes += Pcapng.epb(bigEndian: be, interface: 1, units: 1_700_000_000 << 20 | 1 << 19, data: payload(40))
        bytes += Pcapng.spb(bigEndian: be, orig: 20, data: payload(20))
        bytes += Pcapng.block(5, [UInt8](repeating: 0, count: 12), bigEndian: be)      // ISB
        var dsb = ByteBuilder(bigEndian: be)
        dsb.u32(0x544C_534B)   // TLS key log
        dsb.u32(5)
        dsb.raw(Array("CLNT\n".utf8))
        dsb.pad4()
        bytes += Pcapng.block(0x0A, dsb.bytes, bigEndian: be)                           // DSB
        bytes += Pcapng.block(0xBAD, payload(12), bigEndian: be)                        // custom
        bytes += Pcapng.block(0x1234_5678, payload(8), bigEndian: be)                   // unknown
        bytes += Pcapng.epb(bigEndian: be, interface: 0, units: 1_700_000_002_000_000_000, data: payload(8),
                            options: [Pcapng.int(2, UInt32(2), bigEndian: be)], type: 2)   // obsolete PB
        // Second section, the other byte order, restarting interface ids.
        bytes += Pcapng.shb(bigEndian: !be, options: [Pcapng.string(4, "second writer")])
        bytes += Pcapng.idb(bigEndian: !be, linkType: 113, snaplen: 128, options: [Pcapng.string(2, "any")])
        bytes += Pcapng.epb(bigEndian: !be, interface: 0, units: 1_700_000_003_000_000, data: payload(128),
                            orig: 4000)
        return bytes
    }

    func checkRichFile(_ file: CaptureFile, swapped: [Bool]) throws {
        XCTAssertEqual(file.sections.count, 2)
        XCTAssertEqual(file.linkTypes(), [.ethernet, .raw, .linuxSLL])
        let s0 = file.sections[0], s1 = file.sections[1]
        XCTAssertEqual(s0.isByteSwapped, swapped[0])
        XCTAssertEqual(s1.isByteSwapped, swapped[1])
        XCTAssertEqual(s0.hardware, "Test Hardware")
        XCTAssertEqual(s0.os, "Test OS 1.0")
        XCTAssertEqual(s0.userApplication, "hand-made")
        XCTAssertEqual(s0.comments, ["section comment"])
        let custom = try XCTUnwrap(s0.options.first { $0.code == 2989 })
        XCTAssertEqual(Array(custom.value.prefix(4)), withUnsafeBytes(of: UInt32(0x7FFF)) { Array($0) },
                       "custom option PEN in host order")
        XCTAssertEqual(s1.userApplication, "second writer")
        XCTAssertEqual(s0.interfaces.map(\.name), ["eth0", "tun0"])
        XCTAssertEqual(s0.interfaces[0].interfaceDescription, "first interface")
        XCTAssertEqual(s0.interfaces[0].comments, ["interface comment"])
        XCTAssertEqual(s0.interfaces[0].timestampResolution, .nanoseconds)
        XCTAssertEqual(s0.interfaces[0].timestampOffset, 100)
        let speed = try XCTUnwrap(s0.interfaces[0].options.first { $0.code == PcapngOption.ifSpeed })
        XCTAssertEqual(speed.value, withUnsafeBytes(of: UInt64(1_000_000_000)) { Array($0) })
        XCTAssertEqual(s0.interfaces[1].timestampResolution, .binary(20))
        XCTAssertEqual(s1.interfaces.map(\.name), ["any"])
        XCTAssertEqual(s1.interfaces[0].snapshotLength, 128)

        var views: [ReadPacket] = []
        var options: [[PcapngOption]] = []
        try file.forEachPacket { view in
            views.append(ReadPacket(view))
            options.append(view.pcapngOptions)
        }
        XCTAssertEqual(views.map(\.timestamp), [
            Timestamp(seconds: 1_700_000_100, nanoseconds: 123_456_789),   // +100 s if_tsoffset
            Timestamp(seconds: 1_700_000_000, nanoseconds: 500_000_000),   // 2^-19 s of 2^-20 units
            nil,                                                           // SPB
            Timestamp(seconds: 1_700_000_102, nanoseconds: 0),             // obsolete PB, interface 0
            Timestamp(seconds: 1_700_000_003, nanoseconds: 0),             // µs default
        ])
        XCTAssertEqual(views.map(\.interface), [0, 1, 0, 0, 0])
        XCTAssertEqual(views.map(\.section), [0, 0, 0, 0, 1])
        XCTAssertEqual(views.map(\.linkType), [1, 101, 1, 1, 113])
        XCTAssertEqual(views.map(\.captureLength), [61, 40, 20, 8, 128])
        XCTAssertEqual(views.map(\.wireLength), [1000, 40, 20, 8, 4000])
        XCTAssertEqual(views[0].bytes, payload(61))
        XCTAssertEqual(views[0].comments, ["packet comment", "another"])
        let flags = try XCTUnwrap(options[0].first { $0.code == PcapngOption.epbFlags })
        XCTAssertEqual(flags.value, withUnsafeBytes(of: UInt32(1)) { Array($0) })
        let drops = try XCTUnwrap(options[0].first { $0.code == PcapngOption.epbDropCount })
        XCTAssertEqual(drops.value, withUnsafeBytes(of: UInt64(42)) { Array($0) })
        let id = try XCTUnwrap(options[0].first { $0.code == PcapngOption.epbPacketID })
        XCTAssertEqual(id.value, withUnsafeBytes(of: UInt64(0x1122_3344_5566_7788)) { Array($0) })
        XCTAssertEqual(options[0].first { $0.code == PcapngOption.epbHash }?.value, [2] + payload(16))
        XCTAssertEqual(options[0].map(\.code), [1, 1, 2, 3, 4, 5, 6])
        XCTAssertEqual(options[3].map(\.code), [2])
    }

    func testRichPcapngInEitherByteOrder() throws {
        let hostIsLittle = 1.littleEndian == 1
        for big in [true, false] {
            let file = try CaptureFile(bytes: Self.richBigEndianFile(big: big))
            try checkRichFile(file, swapped: [big == hostIsLittle, big != hostIsLittle])
            let stream = openAndReadAllAsStream(bytes: Self.richBigEndianFile(big: big))
            XCTAssertNil(stream.error)
            XCTAssertEqual(stream.packets, readAll(file).packets)
        }
    }

    func testPcapngToPcapngKeepsSectionsInterfacesAndOptions() throws {
        for big in [true, false] {
            let source = try CaptureFile(bytes: Self.richBigEndianFile(big: big))
            let p = path("copy-\(big).pcapng")
            let writer = try CaptureFileWriter(path: p, format: .pcapng)
            try writer.addInterfaces(of: source)
            try source.forEachPacket { try writer.write(view: $0) }
            try writer.close()
            let copy = try CaptureFile(path: p)
            try checkRichFile(copy, swapped: [false, false])
            XCTAssertEqual(copy.sections.map(\.options), source.sections.map(\.options))
            XCTAssertEqual(copy.sections.map { $0.interfaces.map(\.options) },
                           source.sections.map { $0.interfaces.map(\.options) })
        }
    }

    func testCopyKeepsTheBlocksThatAreNotPackets() throws {
        let hostIsLittle = 1.littleEndian == 1
        for big in [true, false] {
            let source = try CaptureFile(bytes: Self.richBigEndianFile(big: big))
            let p = path("blocks-\(big).pcapng")
            let writer = try CaptureFileWriter(path: p, format: .pcapng)
            try writer.copy(from: source)
            try writer.close()
            let copy = try CaptureFile(path: p)
            var events: [String] = []
            var secrets: [UInt8] = []
            try copy.forEachRecord { record in
                switch record {
                case .block(let block):
                    XCTAssertFalse(block.isByteSwapped)
                    events.append("\(block.sectionIndex):0x" + String(block.type, radix: 16))
                    if block.type == 0x0A { secrets = Array(block.bytes[8..<21]) }
                case .packet(let view):
                    events.append("\(view.sectionIndex):packet\(view.interfaceIndex)")
                }
                return true
            }
            // The unknown block type survives only when its byte order needs no change.
            // A section's interfaces are declared together, before its other blocks.
            let unknown = big == hostIsLittle ? [] : ["0:0x12345678"]
            XCTAssertEqual(events, ["0:0xa0d0d0a", "0:0x1", "0:0x1", "0:0x4", "0:packet0", "0:packet1", "0:packet0",
                                    "0:0x5", "0:0xa", "0:0xbad"] + unknown
                                    + ["0:packet0", "1:0xa0d0d0a", "1:0x1", "1:packet0"])
            var expected = ByteBuilder()
            expected.u32(0x544C_534B)
            expected.u32(5)
            expected.raw(Array("CLNT\n".utf8))
            XCTAssertEqual(secrets, expected.bytes, "DSB fields in host byte order")
            try checkRichFile(copy, swapped: [false, false])
        }
    }

    func testCountPacketsMatchesTheWalkAndKeepsTheCountOnDamage() throws {
        for name in FilesSupport.sampleNames {
            let file = try CaptureFile(path: FilesSupport.sample(name))
            var n = 0
            try file.countPackets(into: &n)
            XCTAssertEqual(n, readAll(file).packets.count, name)
        }
        for bytes in [Array(FilesMalformedTests.pcapRecords().prefix(166)), Array(FilesMalformedTests.pcapng.prefix(180))] {
            var n = 0
            do {
                try CaptureFile(bytes: bytes).countPackets(into: &n)
                XCTFail("no error")
            } catch {
                XCTAssertEqual(error.code, .truncated)
                XCTAssertEqual(error.offset, bytes.count == 166 ? 100 : 140)
            }
            XCTAssertEqual(n, 1)
        }
    }

    func testPcapToPcapngAndBackIsExact() throws {
        for precision in [PcapTimestampPrecision.microseconds, .nanoseconds] {
            let original = Pcap.file(nanoseconds: precision == .nanoseconds, snaplen: 1500,
                                     records: (0..<20).map { i in
                                         (UInt32(1_700_000_000 + i), UInt32(i * 49_999), payload(20 + i * 13, seed: i),
                                          UInt32(40 + i * 13))
                                     })
            let source = try CaptureFile(bytes: original)
            let ng = path("a.pcapng")
            let w1 = try CaptureFileWriter(path: ng, format: .pcapng)
            try w1.addInterfaces(of: source)
            try source.forEachPacket { try w1.write(view: $0) }
            try w1.close()
            let middle = try CaptureFile(path: ng)
            XCTAssertEqual(middle.sections.first?.interfaces.first?.timestampResolution,
                           precision == .nanoseconds ? .nanoseconds : .microseconds)
            XCTAssertEqual(middle.sections.first?.interfaces.first?.snapshotLength, 1500)
            XCTAssertEqual(readAll(middle).packets, readAll(source).packets)

            let back = path("b.pcap")
            let w2 = try CaptureFileWriter(path: back, format: .pcap)
            try w2.addInterfaces(of: middle)
            try middle.forEachPacket { try w2.write(view: $0) }
            try w2.close()
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: back)), Data(original), "\(precision)")
        }
    }

    func testMergingTwoFilesIntoOnePcapngKeepsBothInterfaceSets() throws {
        let a = try CaptureFile(bytes: Pcap.file(linkTypeField: 1, records: [(1, 0, payload(10), nil)]))
        let b = try CaptureFile(bytes: Pcapng.shb() + Pcapng.idb(linkType: 101, options: [Pcapng.string(2, "b0")])
            + Pcapng.epb(units: 2_000_000, data: payload(11)))
        let p = path("merged.pcapng")
        let writer = try CaptureFileWriter(path: p, format: .pcapng)
        try a.forEachPacket { try writer.write(view: $0) }
        try b.forEachPacket { try writer.write(view: $0) }
        try writer.close()
        let merged = try CaptureFile(path: p)
        let read = readAll(merged)
        XCTAssertNil(read.error)
        XCTAssertEqual(read.packets.map(\.linkType), [1, 101])
        XCTAssertEqual(read.packets.map(\.timestamp), [Timestamp(seconds: 1, nanoseconds: 0),
                                                       Timestamp(seconds: 2, nanoseconds: 0)])
        XCTAssertEqual(merged.linkTypes(), [.ethernet, .raw])
    }

    // MARK: Crash safety

    func testTheFileEndsAtARecordBoundaryWhileBeingWritten() throws {
        for format in CaptureFileFormat.allCases {
            let p = path("growing.\(format)")
            let writer = try CaptureFileWriter(path: p, format: format, options: .init(bufferSize: 1000))
            try writer.addInterface(linkType: .ethernet)
            var sizes: Set<Int> = []
            for i in 0..<200 {
                try writer.write(Packet(timestamp: Timestamp(seconds: Int64(i), nanoseconds: 0),
                                        wireLength: 100 + i, bytes: ArraySlice(payload(37 + i % 50)),
                                        linkType: .ethernet))
                // What a reader sees now (as if this process died here).
                let size = try FileManager.default.attributesOfItem(atPath: p)[.size] as! Int
                if i % 7 == 0 && size > 0 {   // (nothing at all is written until the buffer first fills)
                    let seen = readAll(try CaptureFile(path: p))
                    XCTAssertNil(seen.error, "\(format) after \(i + 1) packets: \(String(describing: seen.error))")
                    XCTAssertLessThanOrEqual(seen.packets.count, i + 1)
                    XCTAssertEqual(seen.packets.map(\.timestamp?.seconds), (0..<seen.packets.count).map(Int64.init))
                    sizes.insert(size)
                }
            }
            XCTAssertGreaterThan(sizes.count, 5, "the buffer was written out as it filled")
            try writer.flush()
            XCTAssertEqual(readAll(try CaptureFile(path: p)).packets.count, 200)
            try writer.close()
        }
    }

    func testAWriterKilledMidWayLeavesEveryFlushedPacket() throws {
        // A child process writes packets through a small buffer until SIGKILL;
        // whatever reached the file is whole records.
        let p = path("killed.pcapng")
        let packet = Packet(timestamp: Timestamp(seconds: 0, nanoseconds: 0), wireLength: 333,
                            bytes: ArraySlice(payload(333)), linkType: .ethernet)
        do {   // Warm up the code path (runtime metadata) before forking.
            let warm = try CaptureFileWriter(path: path("warm.pcapng"), format: .pcapng)
            try warm.write(packet)
            try warm.close()
        }
        let child = fork()
        if child == 0 {
            let start = time(nil)
            if let writer = try? CaptureFileWriter(path: p, format: .pcapng, options: .init(bufferSize: 4096)) {
                var next = packet
                var i: Int64 = 0
                while time(nil) - start < 10 {   // never outlive a crashed parent for long
                    next.timestamp = Timestamp(seconds: i, nanoseconds: 0)
                    _ = try? writer.write(next)
                    i += 1
                    if i % 64 == 0 { usleep(500) }
                }
            }
            _exit(0)
        }
        XCTAssertGreaterThan(child, 0)
        // Kill it once the file holds a good number of packets.
        var size = 0
        for _ in 0..<500 where size < 100_000 {
            usleep(10_000)
            size = ((try? FileManager.default.attributesOfItem(atPath: p))?[.size] as? Int) ?? 0
        }
        kill(child, SIGKILL)
        var status: Int32 = 0
        waitpid(child, &status, 0)
        XCTAssertGreaterThanOrEqual(size, 100_000, "the child wrote too little before being killed")
        let seen = readAll(try CaptureFile(path: p))
        XCTAssertNil(seen.error)
        XCTAssertGreaterThan(seen.packets.count, 100)
        XCTAssertEqual(seen.packets.map(\.timestamp?.seconds), (0..<seen.packets.count).map(Int64.init))
    }

    // MARK: Streams and sequences

    func testStreamsResumeWhereTheyStopped() throws {
        var bytes = Pcapng.shb() + Pcapng.idb(snaplen: 0)
        for i in 0..<10 { bytes += Pcapng.epb(units: UInt64(i), data: payload(10 + i)) }
        // A big block to skip and a big packet, beyond the stream's initial buffer.
        bytes += Pcapng.block(0xBAD, payload(1 << 20), bigEndian: false)
        bytes += Pcapng.epb(units: 99, data: payload(600_000))
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let writeEnd = fds[1]
        let data = bytes
        let thread = Thread {
            data.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = write(writeEnd, raw.baseAddress! + done, min(4096, raw.count - done))
                    if n <= 0 { break }
                    done += n
                }
            }
            close(writeEnd)
        }
        thread.start()
        defer { close(fds[0]) }
        let file = try CaptureFile(fileDescriptor: fds[0], path: "pipe")
        XCTAssertTrue(file.isStream)
        XCTAssertFalse(file.linkTypesAreComplete)
        var first: [Int] = []
        var views = file.makePacketIterator()
        while first.count < 5, let view = try views.next() { first.append(view.captureLength) }
        XCTAssertEqual(first, [10, 11, 12, 13, 14])
        XCTAssertEqual(file.linkTypes(), [.ethernet])
        var rest: [Int] = []
        try file.forEachPacket { rest.append($0.captureLength) }
        XCTAssertEqual(rest, [15, 16, 17, 18, 19, 600_000])
        var again = 0
        try file.forEachPacket { _ in again += 1 }
        XCTAssertEqual(again, 0, "a stream is read once")
    }

    func testMappedFilesRestartOnEveryWalk() throws {
        let file = try CaptureFile(path: FilesSupport.sample("mergecap-mixed.pcapng"))
        var a = 0, b = 0
        try file.forEachRecord { record in
            if case .packet = record { a += 1 }
            return a < 3
        }
        try file.forEachPacket { _ in b += 1 }
        XCTAssertEqual(a, 3)
        XCTAssertEqual(b, 10)
    }

    func testAsyncSequenceMatchesTheSynchronousWalk() async throws {
        for name in FilesSupport.sampleNames {
            let file = try CaptureFile(path: FilesSupport.sample(name))
            var viaAsync: [ReadPacket] = []
            for try await packet in file.packets {
                viaAsync.append(ReadPacket(packet))
            }
            let viaSync = readAll(file).packets.map { p -> ReadPacket in
                var q = p
                q.section = 0
                return q
            }
            XCTAssertEqual(viaAsync, viaSync, name)
        }
        // Large enough for several batches.
        var bytes = Pcap.file(records: [])
        for i in 0..<3000 {
            var b = ByteBuilder()
            b.u32(UInt32(i)); b.u32(0); b.u32(200); b.u32(200)
            bytes += b.bytes + payload(200, seed: i)
        }
        let file = try CaptureFile(bytes: bytes)
        var n = 0
        for try await packet in file.packets {
            XCTAssertEqual(packet.timestamp?.seconds, Int64(n))
            XCTAssertEqual(Array(packet.bytes), payload(200, seed: n))
            n += 1
        }
        XCTAssertEqual(n, 3000)
    }

    // MARK: Timestamp resolutions

    func testResolutionArithmeticNeverOverflowsOrExceedsASecond() throws {
        let extremes: [UInt64] = [0, 1, 999_999_999, 1_000_000_000, UInt64(UInt32.max), 1 << 63, UInt64.max]
        var bytes = Pcapng.shb()
        var resolutions: [TimestampResolution] = []
        for e in [0, 1, 6, 9, 12, 19, 20, 30, 63, 64, 100, 127] {
            resolutions += [.decimal(e), .binary(e)]
        }
        for r in resolutions { bytes += Pcapng.idb(options: [(9, [r.rawValue])]) }
        for (i, _) in resolutions.enumerated() {
            for u in extremes { bytes += Pcapng.epb(interface: UInt32(i), units: u, data: [1]) }
        }
        let read = readAll(try CaptureFile(bytes: bytes))
        XCTAssertNil(read.error)
        XCTAssertEqual(read.packets.count, resolutions.count * extremes.count)
        for p in read.packets { XCTAssertLessThan(p.timestamp!.nanoseconds, 1_000_000_000) }
        // Spot checks: 10^-12 s units truncated to ns; 2^-1 s; 10^0 s.
        func ts(_ r: TimestampResolution, _ u: UInt64) -> Timestamp? {
            let i = resolutions.firstIndex(of: r)!, j = extremes.firstIndex(of: u)!
            return read.packets[i * extremes.count + j].timestamp
        }
        XCTAssertEqual(ts(.decimal(12), 1_000_000_000), Timestamp(seconds: 0, nanoseconds: 1_000_000))
        XCTAssertEqual(ts(.decimal(12), 999_999_999), Timestamp(seconds: 0, nanoseconds: 999_999))
        XCTAssertEqual(ts(.binary(1), 1), Timestamp(seconds: 0, nanoseconds: 500_000_000))
        XCTAssertEqual(ts(.decimal(0), 1_000_000_000), Timestamp(seconds: 1_000_000_000, nanoseconds: 0))
        XCTAssertEqual(ts(.decimal(19), UInt64.max), Timestamp(seconds: 1, nanoseconds: 844_674_407))
        XCTAssertEqual(ts(.binary(63), 1 << 63), Timestamp(seconds: 1, nanoseconds: 0))
    }
}
