import Foundation
import TestSupport
import XCTest

/// `swiftcap read` with tcpdump's output flags prints what `tcpdump -r` prints,
/// whole output compared, on TCP, ICMP, ICMPv6 and ARP packets (taken out of the
/// committed samples, the shared corpus and the loopback capture by tcpdump itself).
final class OutputFlagTests: XCTestCase {
    static let supported = "tcp or icmp or icmp6 or arp"

    func inputs(filter: String) throws -> [String] {
        let dir = try makeTemporaryDirectory("sc8-flags")
        let sources = [CaptureCorpus.packageRoot.path + "/Tests/PacketCaptureTests/Samples/tcpdump-us.pcap",
                       CaptureCorpus.packageRoot.path + "/Tests/PacketCaptureTests/Samples/raw-ip.pcapng",
                       CaptureCorpus.packageRoot.deletingLastPathComponent().path + "/shared/corpus/libpcap-tests/filter/gateway_or_not.pcap"]
            + (try CaptureCorpus.generated())
        return try sources.enumerated().map { i, source in
            let out = "\(dir)/\(i).pcap"
            try runChecked(["/usr/bin/tcpdump", "-r", source, "-w", out, filter])
            return out
        }
    }

    func assertSameAsTcpdump(_ flags: [String], filter: String = supported, files: [String]? = nil) throws {
        let cli = try BuiltProducts.cli()
        for file in try files ?? inputs(filter: filter) {
            let theirs = try runProcess(["/usr/bin/tcpdump", "-n"] + flags + ["-r", file], environment: ["TZ": "UTC"])
            let ours = try runProcess([cli, "read", file, "-n"] + flags, environment: ["TZ": "UTC"])
            XCTAssertEqual(ours.status, 0, ours.stderr)
            XCTAssertFalse(theirs.stdout.isEmpty, "no packets in \(file)")
            let a = theirs.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            let b = ours.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            XCTAssertEqual(a.count, b.count, "\(flags) \(file): line count")
            for (i, (x, y)) in zip(a, b).enumerated() where x != y {
                XCTFail("\(flags) \(file) line \(i + 1):\n tcpdump:  \(x)\n swiftcap: \(y)")
                break
            }
        }
    }

    func testLinkHeader() throws { try assertSameAsTcpdump(["-e"]) }
    func testTimestampFormats() throws {
        for flag in ["-t", "-tt", "-ttt", "-tttt", "-ttttt"] { try assertSameAsTcpdump([flag]) }
    }
    func testHexAndASCIIDumps() throws {
        for flag in ["-x", "-xx", "-X", "-XX", "-A"] { try assertSameAsTcpdump([flag]) }
    }
    /// tcpdump's `-A` drops a carriage return before a newline, at the end of a packet
    /// and one byte before it, and prints a dot for the others: payloads that end in
    /// each of those ways (a loopback capture hits them only by chance).
    func testASCIICarriageReturns() throws {
        let payloads: [[UInt8]] = [Array("A\rB".utf8), Array("A\r".utf8), Array("A\rBC".utf8), Array("A\r\n".utf8),
                                   Array("A\r\rB".utf8), Array("\rAB\r\n\r".utf8), Array("AB\r\r".utf8), Array("\r".utf8)]
        let packets = payloads.map { payload in
            let udpLength = 8 + payload.count
            let ip: [UInt8] = [0x45, 0, 0, UInt8(20 + udpLength), 0, 1, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]
            let udp: [UInt8] = [0x03, 0xE8, 0x07, 0xD0, 0, UInt8(udpLength), 0, 0]
            return (bytes: ip + udp + payload, cut: Int?.none)
        }
        let path = try CraftedPackets.writePcap(packets, prefix: "sc8-cr")
        try assertSameAsTcpdump(["-A"], files: [path])
    }
    func testVerbose() throws { try assertSameAsTcpdump(["-v"]) }

    /// -v on packets written here so every case is there: ICMP errors and the packet each
    /// carries (tcpdump prints it on lines of its own), a wrong ICMP checksum, UDP over IPv6
    /// with right and wrong checksums, neighbour discovery messages and their options
    /// (link-layer addresses, prefix, MTU, RDNSS, unknown, cut short), redirect, echo; also
    /// with -e (no `IP ` before the carried packet then) and -x.
    func testVerboseOnCraftedPackets() throws {
        let path = try CraftedPackets.writePcap(CraftedPackets.verboseCases(), prefix: "sc8-verbose")
        for flags in [["-v"], [], ["-q"], ["-v", "-e"], ["-v", "-x"]] { try assertSameAsTcpdump(flags, files: [path]) }
    }

    /// Transport headers cut by the snapshot length: ` [|tcp]`, ` [|udp]`, ` [|icmp]`, ` [|icmp6]`
    /// after what tcpdump could still print.
    func testCutTransportHeaders() throws {
        let path = try CraftedPackets.writePcap(CraftedPackets.truncatedCases(), prefix: "sc8-cut")
        for flags in [[], ["-v"], ["-q"]] { try assertSameAsTcpdump(flags, files: [path]) }
    }
    func testAbsoluteSequenceNumbers() throws { try assertSameAsTcpdump(["-S"]) }
    func testQuietWithLinkHeader() throws { try assertSameAsTcpdump(["-q", "-e"]) }

    /// Bad flag use gets a clear message and exit status 64 (ArgumentParser's usage error).
    ///
    /// | arguments | message mentions |
    /// |---|---|
    /// | -tttttt | -t can be given at most five times |
    /// | -xxx | -x and -X can be given at most twice |
    func testBadFlags() throws {
        let cli = try BuiltProducts.cli()
        let sample = CaptureCorpus.packageRoot.path + "/Tests/PacketCaptureTests/Samples/tcpdump-us.pcap"
        for (flag, message) in [("-tttttt", "at most five times"), ("-xxx", "at most twice")] {
            let r = try runProcess([cli, "read", sample, flag])
            XCTAssertEqual(r.status, 64, flag)
            XCTAssertTrue(r.stderr.contains(message), "\(flag): \(r.stderr)")
        }
    }
}
