import Foundation
import PacketCapture
import XCTest

/// Against the real tools (tcpdump, tshark, editcap, mergecap, text2pcap, capinfos):
/// they make files we read, and read files we write. A missing tool fails the
/// test with the package to install.
final class FilesToolTests: TemporaryDirectoryTestCase {
    // MARK: Files the tools make

    func testFreshlyMadeSamplesReadAsTsharkReadsThem() throws {
        for tool in ["text2pcap", "tcpdump", "editcap", "mergecap", "tshark"] {
            guard FilesSupport.tool(tool) != nil else { return }
        }
        let script = FilesSupport.samples.appendingPathComponent("make-samples.sh").path
        let made = try FilesSupport.run("/bin/sh", [script, directory.path])
        XCTAssertEqual(made.status, 0, "make-samples.sh failed: \(made.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted()
        XCTAssertEqual(names, FilesSupport.sampleNames)
        for name in names {
            let tshark = try XCTUnwrap(try FilesSupport.tsharkLines(path(name)))
            let ours = try FilesSupport.ourLines(path(name))
            XCTAssertEqual(FilesSupport.normalized(ours), FilesSupport.normalized(tshark), name)
            // The committed sample reads the same (the tools are deterministic in what matters).
            let committed = try FilesSupport.ourLines(FilesSupport.sample(name))
            XCTAssertEqual(committed, ours, name)
        }
    }

    // MARK: Files we write

    /// Packets of the samples, with timestamps that exercise every digit.
    func samplePackets() throws -> [Packet] {
        var packets: [Packet] = []
        let file = try CaptureFile(path: FilesSupport.sample("text2pcap-ns.pcapng"))
        try file.forEachPacket { packets.append($0.makePacket()) }
        return packets
    }

    func testTcpdumpAndTsharkReadOurPcapFilesWithIdenticalTimesAndLengths() throws {
        guard let tcpdump = FilesSupport.tool("tcpdump"), FilesSupport.tool("tshark") != nil else { return }
        for precision in [PcapTimestampPrecision.microseconds, .nanoseconds] {
            let p = path("ours-\(precision).pcap")
            let writer = try CaptureFileWriter(path: p, format: .pcap, options: .init(pcapTimestampPrecision: precision))
            try writer.addInterface(linkType: .ethernet, snapshotLength: 1000)
            for var packet in try samplePackets() {
                if packet.bytes.count > 1000 {   // cut like a snaplen would
                    packet.bytes = packet.bytes.prefix(1000)
                }
                try writer.write(packet)
            }
            try writer.close()

            let tshark = try XCTUnwrap(try FilesSupport.tsharkLines(p))
            XCTAssertEqual(FilesSupport.normalized(try FilesSupport.ourLines(p)), FilesSupport.normalized(tshark))
            XCTAssertTrue(tshark[4].hasPrefix(precision == .nanoseconds ? "1700000001.999999999\t1000\t1514"
                                                                        : "1700000001.999999000\t1000\t1514"),
                          tshark[4])
            try checkTcpdump(tcpdump, p)
        }
    }

    /// tcpdump's timestamps (first field of -tt --nano) and Ethernet lengths (-e) equal ours.
    func checkTcpdump(_ tcpdump: String, _ p: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try FilesSupport.run(tcpdump, ["-r", p, "--nano", "-tt", "-n", "-e"])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        var ours: [(String, Int, LinkType)] = []
        try CaptureFile(path: p).forEachPacket { view in
            ours.append((view.timestamp?.description ?? "0.000000000", view.wireLength, view.linkType))
        }
        XCTAssertEqual(lines.count, ours.count, r.stdout, file: file, line: line)
        for (text, (ts, length, linkType)) in zip(lines, ours) {
            XCTAssertEqual(text.split(separator: " ").first.map(String.init), ts, text, file: file, line: line)
            if linkType == .ethernet {
                XCTAssertTrue(text.contains("length \(length):") || text.contains("length \(length)"), text,
                              file: file, line: line)
            }
        }
    }

    func testTcpdumpAndTsharkReadOurPcapngWithSeveralInterfacesAndResolutions() throws {
        guard let tcpdump = FilesSupport.tool("tcpdump"), FilesSupport.tool("tshark") != nil else { return }
        let p = path("ours.pcapng")
        let writer = try CaptureFileWriter(path: p, format: .pcapng)
        let resolutions: [(TimestampResolution, Int64)] = [
            (.nanoseconds, 0), (.microseconds, 0), (.decimal(3), 0), (.binary(20), 0), (.binary(10), 0),
            (.decimal(10), 1_699_999_000), (.nanoseconds, -1000),
            // Not 10^-12: Wireshark 4.0 computes (units % 10^12) * 10^9 in 64 bits and
            // overflows (it shows .012776324 for .123456789); we truncate exactly.
        ]
        for (i, (resolution, offset)) in resolutions.enumerated() {
            try writer.addInterface(linkType: .ethernet, snapshotLength: 0, name: "if\(i)",
                                    timestampResolution: resolution, timestampOffset: offset)
        }
        for (i, packet) in try samplePackets().enumerated() {
            for interface in resolutions.indices {
                var copy = packet
                copy.interfaceIndex = interface
                copy.comments = i == 2 ? ["comment on \(interface)"] : []
                try writer.write(copy)
            }
        }
        try writer.close()
        let tshark = try XCTUnwrap(try FilesSupport.tsharkLines(p))
        XCTAssertEqual(tshark.count, 7 * resolutions.count)
        XCTAssertEqual(FilesSupport.normalized(try FilesSupport.ourLines(p)), FilesSupport.normalized(tshark))
        try checkTcpdump(tcpdump, p)
    }

    func testTsharkReadsOurMixedLinkTypesAndSimplePacketBlocks() throws {
        guard FilesSupport.tool("tshark") != nil else { return }
        let p = path("mixed.pcapng")
        let writer = try CaptureFileWriter(path: p, format: .pcapng)
        try writer.addInterface(linkType: .ethernet, snapshotLength: 128, name: "eth0")
        try writer.addInterface(linkType: .raw, name: "tun0", timestampResolution: .microseconds)
        let packets = try samplePackets()
        for (i, packet) in packets.enumerated() {
            var p = packet
            if i % 3 == 0 { p.timestamp = nil }                     // SPBs on interface 0
            if p.bytes.count > 128 { p.bytes = p.bytes.prefix(128) }
            try writer.write(p)
            let raw = Packet(timestamp: packet.timestamp, wireLength: packet.wireLength - 14,
                             bytes: packet.bytes.dropFirst(14), linkType: .raw, interfaceIndex: 1,
                             comments: ["raw \(i)"])
            try writer.write(raw)
        }
        try writer.close()
        let tshark = try XCTUnwrap(try FilesSupport.tsharkLines(p))
        // tshark shows an SPB's missing time as 0 (or blank); we as nil ("").
        let ours = FilesSupport.normalized(try FilesSupport.ourLines(p))
        XCTAssertEqual(ours.count, tshark.count)
        for (a, b) in zip(ours, FilesSupport.normalized(tshark)) {
            if a.hasPrefix("\t") {
                XCTAssertTrue(b.hasPrefix("\t") || b.hasPrefix("0.000000000\t"), b)
                XCTAssertEqual(a.split(separator: "\t", omittingEmptySubsequences: false).dropFirst(),
                               b.split(separator: "\t", omittingEmptySubsequences: false).dropFirst())
            } else {
                XCTAssertEqual(a, b)
            }
        }
    }

    // MARK: pcapng → pcapng loses nothing Wireshark shows

    /// `tshark -V` of every packet, and capinfos' section/interface report
    /// (less the lines about the file itself).
    func wiresharkView(_ p: String) throws -> (packets: String, info: String) {
        guard let tshark = FilesSupport.tool("tshark"), let capinfos = FilesSupport.tool("capinfos") else {
            return ("", "")
        }
        let v = try FilesSupport.run(tshark, ["-r", p, "-V", "-o", "gui.column.format:\"No.\",\"%m\""])
        XCTAssertEqual(v.status, 0, v.stderr)
        let c = try FilesSupport.run(capinfos, [p])
        XCTAssertEqual(c.status, 0, c.stderr)
        let skip = ["File name:", "File size:", "SHA256:", "RIPEMD160:", "SHA1:", "Data byte rate", "Data bit rate"]
        let info = c.stdout.split(separator: "\n").filter { line in !skip.contains { line.hasPrefix($0) } }
            .joined(separator: "\n")
        return (v.stdout, info)
    }

    func testConvertingPcapngKeepsEverythingWiresharkShows() throws {
        guard FilesSupport.tool("tshark") != nil, FilesSupport.tool("capinfos") != nil else { return }
        var sources = FilesSupport.sampleNames.filter { $0.hasSuffix(".pcapng") }.map(FilesSupport.sample)
        for big in [true, false] {
            let p = path("rich-\(big).pcapng")
            try Data(FilesRoundTripTests.richBigEndianFile(big: big)).write(to: URL(fileURLWithPath: p))
            sources.append(p)
        }
        for source in sources {
            let input = try CaptureFile(path: source)
            let output = path("converted.pcapng")
            let writer = try CaptureFileWriter(path: output, format: .pcapng)
            try writer.copy(from: input)
            try writer.close()
            let before = try wiresharkView(source), after = try wiresharkView(output)
            XCTAssertFalse(before.packets.isEmpty)
            XCTAssertEqual(after.packets, before.packets, source)
            XCTAssertEqual(after.info, before.info, source)
        }
    }

    func testConvertingPcapToPcapngAndBackKeepsTimesForTheTools() throws {
        guard let tcpdump = FilesSupport.tool("tcpdump"), FilesSupport.tool("tshark") != nil else { return }
        for name in ["tcpdump-us.pcap", "tcpdump-ns.pcap", "editcap-snap64.pcap"] {
            let input = try CaptureFile(path: FilesSupport.sample(name))
            let ng = path("\(name).pcapng")
            let writer = try CaptureFileWriter(path: ng, format: .pcapng)
            try writer.addInterfaces(of: input)
            try input.forEachPacket { try writer.write(view: $0) }
            try writer.close()
            let tshark = try XCTUnwrap(try FilesSupport.tsharkLines(ng))
            let expected = try String(contentsOfFile: FilesSupport.sample(name + ".tshark"), encoding: .utf8)
                .split(separator: "\n").map { line -> String in
                    // pcap has no interface id; pcapng says 0.
                    var f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                    while f.count < 5 { f.append("") }
                    f[3] = "0"
                    return f.joined(separator: "\t")
                }
            XCTAssertEqual(FilesSupport.normalized(tshark), FilesSupport.normalized(expected), name)
            try checkTcpdump(tcpdump, ng)
        }
    }
}
