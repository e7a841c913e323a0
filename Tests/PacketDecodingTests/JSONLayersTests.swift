import Foundation
import TestSupport
import XCTest

/// `swiftcap read --json` carries the decoded layers under the README's keys,
/// with the values the tshark-checked decoder gives (TsharkFieldTests).
final class JSONLayersTests: XCTestCase {
    func testJSONLayersCarryTheDecodedFields() throws {
        let cli = try BuiltProducts.cli()
        let files = CaptureCorpus.samples + (try CaptureCorpus.generated())
        var checked = 0
        for file in files {
            let expected = TsharkFieldTests.ourFields(file)
            let r = try runProcess([cli, "read", file, "--json"])
            let lines = r.stdout.split(separator: "\n")
            guard lines.count == expected.count else { XCTFail("\(file): \(lines.count) JSON lines, \(expected.count) packets"); continue }
            for (line, fields) in zip(lines, expected) {
                let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
                let layers = try XCTUnwrap(object["layers"] as? [String: Any], String(line))
                let end = try XCTUnwrap(layers["end"] as? [String: Any])
                XCTAssertNotNil(end["layer"] as? String)
                XCTAssertNotNil(end["reason"] as? String)
                let link = layers["link"] as? [String: Any]
                let network = layers["network"] as? [String: Any]
                let transport = layers["transport"] as? [String: Any]
                func same(_ key: String, _ value: Any?) {
                    guard let want = fields[key] else { return }
                    checked += 1
                    XCTAssertEqual(value.map { "\($0)" }, want, "\(file) \(key): \(line)")
                }
                same("eth.src", link?["src"])
                same("eth.dst", link?["dst"])
                same("ip.src", network?["type"] as? String == "ipv4" ? network?["src"] : nil)
                same("ip.ttl", network?["type"] as? String == "ipv4" ? network?["ttl"] : nil)
                same("ipv6.src", network?["type"] as? String == "ipv6" ? network?["src"] : nil)
                same("ipv6.hlim", network?["type"] as? String == "ipv6" ? network?["hop_limit"] : nil)
                same("arp.opcode", network?["op"])
                same("tcp.srcport", transport?["type"] as? String == "tcp" ? transport?["sport"] : nil)
                same("tcp.seq_raw", transport?["seq"])
                same("udp.dstport", transport?["type"] as? String == "udp" ? transport?["dport"] : nil)
                same("udp.length", transport?["type"] as? String == "udp" ? transport?["length"] : nil)
                same("icmp.type", transport?["type"] as? String == "icmp" ? transport?["icmp_type"] : nil)
                same("icmpv6.type", transport?["type"] as? String == "icmpv6" ? transport?["icmp_type"] : nil)
            }
        }
        XCTAssertGreaterThan(checked, 200)
    }
}
