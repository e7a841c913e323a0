import Foundation
import PacketCapture
import PacketDecoding
import TestSupport
import XCTest

/// Every field the decoder gives equals tshark's dissection of the same packet
/// (`tshark -T fields`), for every packet of the supported protocols in the
/// committed samples, `../shared/corpus/` and the loopback capture made here.
///
/// Where we differ on purpose (not compared):
/// | case | why |
/// |---|---|
/// | transport fields of IP fragments | tshark reassembles and shows the transport header on the last fragment; the decoder reads the first fragment's bytes as they are |
/// | transport fields inside ICMP/ICMPv6 errors | tshark lists the embedded packet's TCP/UDP fields as the packet's; the decoder keeps them in `embeddedPacket` |
/// | second and later occurrences of IP fields | tshark lists tunnelled and embedded IP headers too; compared: the outermost header |
final class TsharkFieldTests: XCTestCase {
    static let fields = ["eth.src", "eth.dst", "eth.type", "vlan.id", "ip.src", "ip.dst", "ip.proto", "ip.ttl", "ip.id",
                         "ip.flags", "ip.frag_offset", "ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.hlim", "tcp.srcport",
                         "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.window_size_value", "tcp.len",
                         "udp.srcport", "udp.dstport", "udp.length", "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
                         "arp.opcode", "arp.src.proto_ipv4", "arp.dst.proto_ipv4", "arp.src.hw_mac"]

    func testDecodedFieldsEqualTshark() throws {
        let files = CaptureCorpus.samples + (try CaptureCorpus.sharedCorpus()) + (try CaptureCorpus.generated())
        var compared = 0, packetsCompared = 0
        var report: [String] = []
        for path in files {
            let ours = Self.ourFields(path)
            guard !ours.isEmpty else { continue }
            let tshark = try runProcess(["/usr/bin/tshark", "-r", path, "-T", "fields", "-E", "occurrence=a", "-E", "separator=/t"]
                                        + Self.fields.flatMap { ["-e", $0] }, timeout: 60)
            let rows = tshark.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            guard rows.count == ours.count else {
                // Files whose packet count tshark and the reader disagree on (broken files,
                // pcapng blocks tshark shows as packets): the Files tests cover reading them.
                report.append("not compared (tshark \(rows.count) packets, reader \(ours.count)) \(path)")
                continue
            }
            var fileFields = 0
            for (index, (row, expected)) in zip(rows, ours).enumerated() where !expected.isEmpty {
                let values = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                packetsCompared += 1
                for (name, value) in expected {
                    guard let column = Self.fields.firstIndex(of: name), column < values.count else { continue }
                    let theirs = values[column]
                    let theirFirst = name == "vlan.id" ? theirs : String(theirs.split(separator: ",").first ?? "")
                    fileFields += 1
                    XCTAssertEqual(value, theirFirst, "\(path) packet \(index + 1) \(name)")
                }
            }
            compared += fileFields
            report.append("\(fileFields) fields \(path.replacingOccurrences(of: CaptureCorpus.packageRoot.path + "/", with: ""))")
        }
        print("tshark field comparison: \(compared) fields in \(packetsCompared) packets\n  " + report.joined(separator: "\n  "))
        XCTAssertGreaterThan(compared, 2000, "too few fields compared")
    }

    /// Our fields in tshark's notation, per packet (empty for packets of unsupported protocols).
    static func ourFields(_ path: String) -> [[String: String]] {
        var result: [[String: String]] = []
        guard let file = try? CaptureFile(path: path) else { return [] }
        try? file.forEachPacket { view in
            result.append(DecodedPacket.withDecoded(unsafeBytes: view.bytes, linkType: view.linkType.rawValue) { fields($0) })
        }
        return result
    }

    static func hex(_ value: some BinaryInteger, digits: Int) -> String {
        let text = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    static func fields(_ packet: borrowing DecodedPacket) -> [String: String] {
        var f: [String: String] = [:]
        let layers = packet.layers
        guard layers.network != nil else { return f }
        if let e = packet.ethernet {
            f["eth.src"] = e.source.description
            f["eth.dst"] = e.destination.description
            if e.typeOrLength > 1500 { f["eth.type"] = hex(e.typeOrLength, digits: 4) }
        }
        if packet.vlanTagCount > 0 {
            f["vlan.id"] = (0..<packet.vlanTagCount).map { String(packet.vlanTag($0)!.id) }.joined(separator: ",")
        }
        if let a = packet.arp {
            f["arp.opcode"] = String(a.operation)
            if let spa = a.senderProtocolAddress, let tpa = a.targetProtocolAddress, let sha = a.senderHardwareAddress {
                f["arp.src.proto_ipv4"] = spa.description
                f["arp.dst.proto_ipv4"] = tpa.description
                f["arp.src.hw_mac"] = sha.description
            }
        }
        var fragment = false
        if let ip = packet.ipv4 {
            f["ip.src"] = ip.source.description
            f["ip.dst"] = ip.destination.description
            f["ip.proto"] = String(ip.protocolNumber)
            f["ip.ttl"] = String(ip.timeToLive)
            f["ip.id"] = hex(ip.identification, digits: 4)
            f["ip.flags"] = hex(ip.flags, digits: 2)
            f["ip.frag_offset"] = String(ip.fragmentOffset)
            fragment = ip.moreFragments || ip.fragmentOffset != 0
        }
        if let ip = packet.ipv6 {
            f["ipv6.src"] = ip.source.description
            f["ipv6.dst"] = ip.destination.description
            f["ipv6.nxt"] = String(ip.nextHeader)
            f["ipv6.hlim"] = String(ip.hopLimit)
            fragment = fragment || ip.layer.ipv6FragmentHeaderOffset != nil
        }
        if let inner = layers.innerNetwork {
            fragment = fragment || inner.moreFragments || inner.fragmentOffset != 0 || inner.ipv6FragmentHeaderOffset != nil
        }
        guard !fragment else { return f }
        if let t = packet.tcp {
            f["tcp.srcport"] = String(t.sourcePort)
            f["tcp.dstport"] = String(t.destinationPort)
            f["tcp.seq_raw"] = String(t.sequenceNumber)
            f["tcp.ack_raw"] = String(t.acknowledgmentNumber)
            f["tcp.flags"] = hex(t.flags.rawValue, digits: 4)
            f["tcp.window_size_value"] = String(t.window)
            if !t.isTruncated, let ip = layers.transportNetwork {
                // tshark: the IP payload length less the TCP header.
                let ipPayload = ip.kind == .ipv4
                    ? Int(packet.bytes.withUnsafeBytes { UInt16($0[ip.offset + 2]) << 8 | UInt16($0[ip.offset + 3]) }) - ip.headerLength
                    : Int(packet.bytes.withUnsafeBytes { UInt16($0[ip.offset + 4]) << 8 | UInt16($0[ip.offset + 5]) }) + 40 - ip.headerLength
                f["tcp.len"] = String(ipPayload - t.dataOffset)
            }
        }
        if let u = packet.udp {
            f["udp.srcport"] = String(u.sourcePort)
            f["udp.dstport"] = String(u.destinationPort)
            f["udp.length"] = String(u.length)
        }
        if let i = packet.icmp {
            f["icmp.type"] = String(i.type)
            f["icmp.code"] = String(i.code)
        }
        if let i = packet.icmpv6 {
            f["icmpv6.type"] = String(i.type)
            f["icmpv6.code"] = String(i.code)
        }
        return f
    }
}
