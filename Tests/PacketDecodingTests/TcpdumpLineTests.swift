import Foundation
import PacketDecoding
import TestSupport
import XCTest

/// `swiftcap read -n [-q] FILE` against `tcpdump -n [-q] -r FILE`, line by line,
/// on every packet of a supported protocol (ARP, or decoded to TCP/UDP/ICMP/ICMPv6);
/// without -q, UDP is left out (tcpdump decodes what UDP carries, swiftcap does not).
/// Prints the match rate of every file.
final class TcpdumpLineTests: XCTestCase {
    func testQuietLinesEqualTcpdump() throws {
        try compare(flags: ["-n", "-q"], includeUDP: true)
    }

    func testDefaultLinesEqualTcpdump() throws {
        try compare(flags: ["-n"], includeUDP: false)
    }

    func compare(flags: [String], includeUDP: Bool) throws {
        let cli = try BuiltProducts.cli()
        let files = CaptureCorpus.samples + (try CaptureCorpus.sharedCorpus()) + (try CaptureCorpus.generated())
        var totalSupported = 0, totalMatched = 0
        var report: [String] = []
        for file in files {
            let packets = CaptureCorpus.decodeAll(file)
            let tcpdump = try runProcess(["/usr/bin/tcpdump"] + flags + ["-r", file], environment: ["TZ": "UTC"])
            let ours = try runProcess([cli, "read", file] + flags, environment: ["TZ": "UTC"])
            // tcpdump continues some packets on more lines (hex of what it cannot print, VXLAN's
            // inner frame): a packet's text starts with its timestamp.
            var theirLines: [Substring] = []
            for line in tcpdump.stdout.split(separator: "\n") {
                if line.first?.isNumber == true || theirLines.isEmpty { theirLines.append(line) } else { theirLines[theirLines.count - 1] += "\n" + line }
            }
            let ourLines = ours.stdout.split(separator: "\n")
            guard theirLines.count == packets.count, ourLines.count == packets.count else {
                // Files tcpdump or we cannot read to the end (the broken ones) are compared by the Files tests.
                if packets.isEmpty || tcpdump.status != 0 { continue }
                XCTFail("\(file): tcpdump printed \(theirLines.count) lines, swiftcap \(ourLines.count), packets \(packets.count)")
                continue
            }
            var supported = 0, matched = 0
            for (i, packet) in packets.enumerated() where Self.isSupported(packet.layers, includeUDP: includeUDP) {
                supported += 1
                if theirLines[i] == ourLines[i] {
                    matched += 1
                } else {
                    XCTFail("\(file) packet \(i + 1):\n tcpdump:  \(theirLines[i])\n swiftcap: \(ourLines[i])")
                }
            }
            totalSupported += supported
            totalMatched += matched
            if supported > 0 {
                report.append("\(matched)/\(supported) \(file.replacingOccurrences(of: CaptureCorpus.packageRoot.path + "/", with: ""))")
            }
        }
        print("tcpdump \(flags.joined(separator: " ")) line match: \(totalMatched)/\(totalSupported) supported packets\n  "
              + report.joined(separator: "\n  "))
        XCTAssertGreaterThan(totalSupported, 100, "too few supported packets to compare")
    }

    /// ARP, or decoded to the transport header (UDP only with -q).
    static func isSupported(_ layers: PacketLayers, includeUDP: Bool) -> Bool {
        if layers.network?.kind == .arp { return layers.end.reason == .complete }
        guard let transport = layers.transport else { return false }
        if transport.kind == .udp && !includeUDP { return false }
        return true
    }
}
