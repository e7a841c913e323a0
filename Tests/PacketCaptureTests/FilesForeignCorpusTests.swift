import Foundation
import PacketCapture
import TestSupport
import XCTest

/// Every capture file of the foreign corpus (`../shared/corpus/` from the
/// package root: libpcap's `tests/` and pcapng-test-generator's `output_le` and
/// `output_be`) reads as Wireshark and libpcap read it: the same packets, each
/// with the same timestamp, captured length and original length, and a typed
/// `CaptureFileError` where they refuse the file.
///
/// Wireshark's reading comes from `sharkd` (tshark's engine, one process for
/// every file, so the test stays fast); libpcap's from
/// `tcpdump --time-stamp-precision=nano -r FILE -w OUT`, which writes each packet
/// as libpcap handed it out (`OUT` is parsed here, independently of swiftcap).
///
/// Where the two disagree, swiftcap follows one of them; `disagreements` lists
/// those files and why. A file whose tools agree must not be in it.
final class FilesForeignCorpusTests: XCTestCase {
    /// `../shared/corpus`, relative to the package root.
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/corpus").standardized
    static let folders = ["libpcap-tests", "pcapng-test-generator/output_le", "pcapng-test-generator/output_be"]

    enum Tool: String { case wireshark, libpcap }

    /// Files where Wireshark and libpcap read differently, the one swiftcap
    /// follows, and why.
    ///
    /// | file | follows | reason |
    /// |---|---|---|
    /// | libpcap-tests/filter/brcm-tag.pcap, brcm-tag-stp.pcap | libpcap | Wireshark 4.0 refuses link type 281 (DSA_TAG_BRCM) it cannot dissect; the file itself is sound |
    /// | libpcap-tests/filter/dsa.pcap | libpcap | the same for link type 284 (DSA_TAG_DSA) |
    /// | libpcap-tests/filter/slip-*-oobr.pcap (2) | Wireshark | a record stores 255 bytes with a snapshot length of 46 in the header: libpcap cuts the bytes to 46, Wireshark hands out all 255 the file holds; swiftcap drops nothing the file stores (and reports the original length 225, below the captured length, as the file says: `PacketView.wireLengthBelowCaptureLength`) |
    /// | libpcap-tests/pcap-invalid-version-2.pcap | libpcap | pcap version 2.5 does not exist: Wireshark reads any 2.x, libpcap only 2.0-2.4; swiftcap refuses a version whose layout it cannot know, as it does for pcapng (`.unsupportedVersion`) |
    /// | pcapng-test-generator/*/basic/test002, test017 | Wireshark | no Interface Description Block and so no packet: libpcap refuses such a file, Wireshark reads it as empty, as the pcapng specification allows |
    /// | pcapng-test-generator/*/basic/test004, test005, test008, difficult/test200 | Wireshark | interfaces with different snapshot lengths: libpcap supports one per file only |
    /// | pcapng-test-generator/*/basic/test006, test014, advanced/test100-102, difficult/test201-202 | Wireshark | interfaces with different link types (or in several sections): libpcap supports one per file only |
    static let disagreements: [String: (follow: Tool, reason: String)] = {
        var table: [String: (follow: Tool, reason: String)] = [
            "libpcap-tests/filter/brcm-tag.pcap": (.libpcap, "Wireshark 4.0 cannot dissect link type 281"),
            "libpcap-tests/filter/brcm-tag-stp.pcap": (.libpcap, "Wireshark 4.0 cannot dissect link type 281"),
            "libpcap-tests/filter/dsa.pcap": (.libpcap, "Wireshark 4.0 cannot dissect link type 284"),
            "libpcap-tests/filter/slip-compressed_sl_print-oobr.pcap": (.wireshark, "libpcap cuts to the snaplen"),
            "libpcap-tests/filter/slip-sliplink_print-oobr.pcap": (.wireshark, "libpcap cuts to the snaplen"),
            "libpcap-tests/pcap-invalid-version-2.pcap": (.libpcap, "pcap 2.5 does not exist"),
        ]
        for order in ["output_le", "output_be"] {
            for test in ["basic/test002", "basic/test017"] {
                table["pcapng-test-generator/\(order)/\(test).pcapng"] = (.wireshark, "no interface, no packet")
            }
            for test in ["basic/test004", "basic/test005", "basic/test008", "difficult/test200"] {
                table["pcapng-test-generator/\(order)/\(test).pcapng"] = (.wireshark, "libpcap: one snaplen per file")
            }
            for test in ["basic/test006", "basic/test014", "advanced/test100", "advanced/test101",
                         "advanced/test102", "difficult/test201", "difficult/test202"] {
                table["pcapng-test-generator/\(order)/\(test).pcapng"] = (.wireshark, "libpcap: one link type per file")
            }
        }
        return table
    }()

    // MARK: One reading of a file

    struct Line: CustomStringConvertible {
        var time: String
        var caplen: Int
        var len: Int

        var description: String { "\(time.isEmpty ? "-" : time) \(caplen) \(len)" }

        /// libpcap has no "no timestamp" (pcapng Simple Packet Blocks): it says 0.
        func matches(_ other: Line) -> Bool {
            caplen == other.caplen && len == other.len
                && (time == other.time || Set([time, other.time]) == ["", "0.000000000"])
        }
    }

    struct Reading: CustomStringConvertible {
        var lines: [Line]
        /// Why the reader refused the file (at open or part-way); nil when it read it all.
        var refusal: String?

        func matches(_ other: Reading) -> Bool {
            (refusal == nil) == (other.refusal == nil) && lines.count == other.lines.count
                && zip(lines, other.lines).allSatisfy { $0.matches($1) }
        }

        var description: String {
            "\(lines.count) packets [\(lines.map(\.description).joined(separator: ", "))]"
                + (refusal.map { ", then refused: \($0)" } ?? ", read to the end")
        }
    }

    // MARK: The test

    func testEveryCorpusFileReadsAsWiresharkOrLibpcapReadsIt() throws {
        let files = try Self.corpusFiles()
        XCTAssertGreaterThanOrEqual(files.count, 91, "the corpus lost files: \(files)")
        let directory = URL(fileURLWithPath: try makeTemporaryDirectory("swiftcap-corpus"))
        defer { try? FileManager.default.removeItem(at: directory) }
        let wireshark = try Self.wiresharkReadings(files, scratch: directory)
        var tableEntriesUsed = Set<String>()
        for (index, name) in files.enumerated() {
            let path = Self.corpus.appendingPathComponent(name).path
            let libpcap = try Self.libpcapReading(path, scratch: directory.appendingPathComponent("\(index).pcap").path)
            let ours = Self.swiftcapReading(path)
            guard let wireshark = wireshark[name] else {
                XCTFail("\(name): sharkd gave no reading")
                continue
            }
            let truth: Reading
            if let entry = Self.disagreements[name] {
                tableEntriesUsed.insert(name)
                XCTAssertFalse(wireshark.matches(libpcap),
                               "\(name) is listed as a disagreement but Wireshark and libpcap now agree: "
                                   + "remove it from the table (\(wireshark))")
                truth = entry.follow == .wireshark ? wireshark : libpcap
            } else {
                guard wireshark.matches(libpcap) else {
                    XCTFail("\(name): Wireshark and libpcap disagree; add it to `disagreements` with the one "
                                + "swiftcap follows.\n  Wireshark: \(wireshark)\n  libpcap:   \(libpcap)\n"
                                + "  swiftcap:  \(ours)")
                    continue
                }
                truth = wireshark
            }
            XCTAssertTrue(ours.matches(truth), "\(name):\n  swiftcap: \(ours)\n  expected: \(truth)")
        }
        XCTAssertEqual(Set(Self.disagreements.keys).subtracting(tableEntriesUsed), [],
                       "table entries for files not in the corpus")
    }

    // MARK: Readers

    /// Paths relative to the corpus of every .pcap/.pcapng file; fails (never
    /// skips) when a folder is missing.
    static func corpusFiles() throws -> [String] {
        var names: [String] = []
        for folder in folders {
            let root = corpus.appendingPathComponent(folder)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                throw TestSupportError("the foreign corpus folder \(root.path) is missing: this test reads "
                                           + "../shared/corpus/\(folder) next to the package (see the corpus README)")
            }
            guard let walk = FileManager.default.enumerator(atPath: root.path) else {
                throw TestSupportError("cannot list \(root.path)")
            }
            for case let file as String in walk where file.hasSuffix(".pcap") || file.hasSuffix(".pcapng") {
                names.append(folder + "/" + file)
            }
        }
        return names.sorted()
    }

    static func swiftcapReading(_ path: String) -> Reading {
        var lines: [Line] = []
        do {
            let file = try CaptureFile(path: path)
            try file.forEachPacket { view in
                lines.append(Line(time: view.timestamp?.description ?? "", caplen: view.captureLength,
                                  len: view.wireLength))
            }
            return Reading(lines: lines, refusal: nil)
        } catch let error as CaptureFileError {
            return Reading(lines: lines, refusal: "\(error.code): \(error.message)")
        } catch {
            XCTFail("\(path): swiftcap threw \(type(of: error)), not a CaptureFileError: \(error)")
            return Reading(lines: lines, refusal: "untyped error: \(error)")
        }
    }

    /// libpcap's reading, through `tcpdump -w` into a nanosecond pcap parsed here.
    static func libpcapReading(_ path: String, scratch: String) throws -> Reading {
        let tcpdump = "/usr/bin/tcpdump"
        guard FileManager.default.isExecutableFile(atPath: tcpdump) else {
            throw TestSupportError("tcpdump is not installed: this test needs it (apt-get install tcpdump)")
        }
        let r = try runProcess([tcpdump, "--time-stamp-precision=nano", "-r", path, "-w", scratch], timeout: 60)
        let data = FileManager.default.contents(atPath: scratch).map(Array.init) ?? []
        try? FileManager.default.removeItem(atPath: scratch)
        var lines: [Line] = []
        func u32(_ at: Int) -> UInt32 {   // libpcap writes in the host's byte order
            data[at ..< at + 4].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        }
        if data.count >= 24 {
            guard u32(0) == 0xA1B2_3C4D else { throw TestSupportError("tcpdump did not write a ns pcap for \(path)") }
            var at = 24
            while at + 16 <= data.count {
                let caplen = Int(u32(at + 8))
                let ns = String(u32(at + 4))
                lines.append(Line(time: "\(u32(at)).\(String(repeating: "0", count: max(0, 9 - ns.count)))\(ns)",
                                  caplen: caplen, len: Int(u32(at + 12))))
                at += 16 + caplen
            }
        }
        let message = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("reading from file") }
            .joined(separator: " ")
        return Reading(lines: lines, refusal: r.status == 0 ? nil : message)
    }

    /// Wireshark's reading of every file, from one `sharkd` session: a `load`
    /// then a `frames` request per file. A load that fails to open answers with
    /// an error; one that fails part-way answers nothing (sharkd 4.0 prints the
    /// error on stderr) but `frames` still lists the packets read before it.
    static func wiresharkReadings(_ names: [String], scratch: URL) throws -> [String: Reading] {
        let sharkd = "/usr/bin/sharkd"
        guard FileManager.default.isExecutableFile(atPath: sharkd) else {
            throw TestSupportError("sharkd is not installed: this test needs it (apt-get install tshark, "
                                       + "which brings wireshark-common and its sharkd)")
        }
        var requests = ""
        for (index, name) in names.enumerated() {
            let path = corpus.appendingPathComponent(name).path
            let load: [String: Any] = ["jsonrpc": "2.0", "id": 2 * index + 1, "method": "load",
                                       "params": ["file": path]]
            // frame.interface_id is empty for pcapng blocks Wireshark shows that are not packets
            // (Custom Blocks, Decryption Secrets Blocks); libpcap skips them, as swiftcap does.
            let frames: [String: Any] = ["jsonrpc": "2.0", "id": 2 * index + 2, "method": "frames",
                                         "params": ["column0": "frame.time_epoch:0", "column1": "frame.cap_len:0",
                                                    "column2": "frame.len:0", "column3": "frame.interface_id:0"]]
            // sharkd's parser takes neither escaped slashes nor columns out of order.
            for request in [load, frames] {
                let json = try JSONSerialization.data(withJSONObject: request,
                                                      options: [.sortedKeys, .withoutEscapingSlashes])
                requests += String(decoding: json, as: UTF8.self) + "\n"
            }
        }
        let requestFile = scratch.appendingPathComponent("sharkd-requests.json")
        try Data(requests.utf8).write(to: requestFile)
        let r = try ChildProcess([sharkd, "-"], stdinPath: requestFile.path).wait(timeout: 240)
        guard r.status == 0 else { throw TestSupportError("sharkd failed (\(r.status)): \(r.stderr)") }
        var replies: [Int: [String: Any]] = [:]
        for line in r.stdout.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let id = object["id"] as? Int else { continue }
            replies[id] = object
        }
        var readings: [String: Reading] = [:]
        for (index, name) in names.enumerated() {
            let load = replies[2 * index + 1]
            if let error = load?["error"] as? [String: Any] {
                readings[name] = Reading(lines: [], refusal: "\(error["message"] ?? error)")
                continue
            }
            guard let frames = replies[2 * index + 2]?["result"] as? [[String: Any]] else { continue }
            let isPcapng = name.hasSuffix(".pcapng")
            let lines: [Line] = frames.compactMap { frame in
                guard let c = frame["c"] as? [String], c.count == 4, let caplen = Int(c[1]), let len = Int(c[2]),
                      !isPcapng || !c[3].isEmpty else { return nil }
                return Line(time: c[0], caplen: caplen, len: len)
            }
            readings[name] = Reading(lines: lines, refusal: load == nil ? "read failed part-way" : nil)
        }
        return readings
    }
}
