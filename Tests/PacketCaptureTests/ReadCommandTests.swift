import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

/// `swiftcap read` end to end: the CLI, the helper compiling filters (with no
/// capability at all), and the Swift BPF interpreter, against tcpdump.
final class ReadCommandTests: XCTestCase {
    static let tcpdump = "/usr/bin/tcpdump"

    func read(_ arguments: [String], as user: String? = nil, helper: String? = nil) throws -> ProcessResult {
        try runProcess([try BuiltProducts.cli(), "read", "--helper", try helper ?? BuiltProducts.helper()] + arguments,
                       as: user, timeout: 60)
    }

    /// tcpdump's `--count` answer for one expression.
    func tcpdumpCount(_ path: String, _ expression: String) throws -> Int {
        let r = try runProcess([Self.tcpdump, "-r", path, "--count", expression])
        guard r.status == 0, let n = Int(r.stdout.split(separator: " ").first ?? "") else {
            throw TestSupportError("tcpdump (installed by .ci/setup) failed on '\(expression)': \(r.stderr)")
        }
        return n
    }

    func crafted(_ linkType: UInt32, _ records: [BPFTestRecord]) throws -> String {
        let dir = try makeTemporaryDirectory("swiftcap-read")
        addTeardownBlock { removeTemporary(dir) }
        let path = "\(dir)/crafted-\(linkType).pcap"
        try Data(bpfTestPcap(linkType: linkType, records: records)).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testOfflineFilterCountsEqualTcpdumpAcrossTheExpressionTable() throws {
        let files = [
            (try crafted(1, BPFTcpdumpTests.ethernetRecords()), BPFTcpdumpTests.ethernetExpressions),
            (try crafted(113, BPFTcpdumpTests.sllRecords()), BPFTcpdumpTests.cookedExpressions),
        ]
        var compared = 0
        for (path, expressions) in files {
            for expression in expressions {
                let r = try read([path, "--count", expression])
                XCTAssertEqual(r.status, 0, "\(expression): \(r.stderr)")
                let ours = Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
                XCTAssertEqual(ours, try tcpdumpCount(path, expression), "count for '\(expression)' on \(path)")
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 100)
    }

    func testMixedLinkTypesGetOneProgramPerLinkType() throws {
        // mergecap-mixed = Ethernet (text2pcap-ns.pcapng) + raw IP (raw-ip.pcapng);
        // tcpdump cannot filter the merged file, so the expected count is the sum.
        let mixed = FilesSupport.sample("mergecap-mixed.pcapng")
        for expression in ["ip", "tcp", "udp", "icmp", "ip and len > 60", "not ip"] {
            let expected = try tcpdumpCount(FilesSupport.sample("text2pcap-ns.pcapng"), expression)
                + tcpdumpCount(FilesSupport.sample("raw-ip.pcapng"), expression)
            let r = try read([mixed, "--count", expression])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), expected, expression)
        }
        let json = try read([mixed, "--json", "ip"])
        let linkTypes = Set(json.stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["linktype"] as? Int
        })
        XCTAssertEqual(linkTypes, [1, 101], "both link types matched 'ip'")
    }

    func testFiltersCompileInAHelperWithoutAnyCapability() throws {
        try requireRoot()
        _ = try UnprivilegedUser.ensure()
        let dir = try makeTemporaryDirectory("swiftcap-nocap")
        defer { removeTemporary(dir) }
        let helper = try makeCopy(of: try BuiltProducts.helper())   // no setcap
        let cli = try makeCopy(of: try BuiltProducts.cli())
        let sample = "\(dir)/sample.pcap"
        try FileManager.default.copyItem(atPath: FilesSupport.sample("text2pcap-us.pcap"), toPath: sample)
        chmod(dir, 0o755); chmod(sample, 0o644)
        let r = try runProcess([cli, "read", "--helper", helper, sample, "--count", "tcp"], as: "swiftcap-test")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), try tcpdumpCount(sample, "tcp"))
    }

    func testJSONLinesCarryTheRequiredKeys() throws {
        let r = try read([FilesSupport.sample("mergecap-two-interfaces.pcapng"), "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let objects = r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        XCTAssertEqual(objects.count, 10)
        XCTAssertEqual(Set(objects.compactMap { $0["interface"] as? Int }), [0, 1])
        for o in objects {
            let ts = try XCTUnwrap(o["ts"] as? String)
            XCTAssertEqual(ts.split(separator: ".").last?.count, 9, ts)
            XCTAssertNotNil(o["caplen"] as? Int); XCTAssertNotNil(o["len"] as? Int)
            XCTAssertEqual(o["linktype"] as? Int, 1)
        }
    }

    func testStandardInputIsReadAsAStream() throws {
        let sample = FilesSupport.sample("editcap-comments.pcapng")
        let r = try runProcess(["/bin/sh", "-c", "cat '\(sample)' | '\(try BuiltProducts.cli())' read - --count --helper '\(try BuiltProducts.helper())' udp"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), try tcpdumpCount(sample, "udp"))
    }

    /// Bad input table for `swiftcap read`:
    ///
    /// | input                                  | expected                                              |
    /// |----------------------------------------|-------------------------------------------------------|
    /// | file cut inside the 5th record         | 4 packets printed, error with byte offset, exit 1     |
    /// | not a capture file (text)              | exit 1, message names what was found                  |
    /// | missing file                           | exit 1, message names the path                        |
    /// | invalid filter                         | exit 1, pcap's message                                |
    /// | mixed link types written as pcap       | exit 1, says to write pcapng                          |
    func testBadInputs() throws {
        let dir = try makeTemporaryDirectory("swiftcap-read-bad")
        defer { removeTemporary(dir) }
        let good = try Data(contentsOf: URL(fileURLWithPath: FilesSupport.sample("text2pcap-us.pcap")))
        // pcap: 24-byte header, then records of 16 + caplen bytes; cut 10 bytes into the 5th record's data.
        var offset = 24
        for _ in 0 ..< 4 {
            let caplen = Int(good[offset + 8]) | Int(good[offset + 9]) << 8 | Int(good[offset + 10]) << 16 | Int(good[offset + 11]) << 24
            offset += 16 + caplen
        }
        let truncated = "\(dir)/truncated.pcap"
        try good.prefix(offset + 16 + 10).write(to: URL(fileURLWithPath: truncated))
        var r = try read([truncated, "--json"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 4, "every complete packet is printed")
        XCTAssertTrue(r.stderr.contains("\(offset)"), "the error gives the byte offset \(offset): \(r.stderr)")

        let text = "\(dir)/notes.txt"
        try "hello, this is not a capture\n".write(toFile: text, atomically: true, encoding: .utf8)
        r = try read([text, "--count"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.lowercased().contains("magic") || r.stderr.lowercased().contains("text"), r.stderr)

        r = try read(["\(dir)/missing.pcap", "--count"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("missing.pcap"), r.stderr)

        r = try read([FilesSupport.sample("text2pcap-us.pcap"), "--count", "tcp", "port"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("syntax error"), r.stderr)

        r = try read([FilesSupport.sample("mergecap-mixed.pcapng"), "-w", "\(dir)/out.pcap", "--format", "pcap"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("pcapng"), r.stderr)
    }
}
