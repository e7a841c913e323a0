import Foundation
@testable import PacketCapture
import TestSupport
import XCTest

/// `LinkType` speaks LINKTYPE_ values: its names and its conversion from the
/// DLT_ values the helper reports, checked against the installed libpcap. A
/// small C program asks libpcap, for every DLT_ value it names, for the name,
/// the description, and the LINKTYPE_ value pcap_dump_open writes in a
/// savefile header (libpcap's dlt_to_linktype).
final class LinkTypeTests: XCTestCase {
    static let probe = """
        #include <pcap/pcap.h>
        #include <stdio.h>
        #include <stdint.h>
        #include <string.h>
        int main(int argc, char **argv) {
            for (int dlt = 0; dlt < 65536; dlt++) {
                const char *name = pcap_datalink_val_to_name(dlt);
                if (!name) continue;
                const char *description = pcap_datalink_val_to_description(dlt);
                long linktype = -1;
                pcap_t *dead = pcap_open_dead(dlt, 65535);
                pcap_dumper_t *dumper = dead ? pcap_dump_open(dead, argv[1]) : NULL;
                if (dumper) {
                    pcap_dump_close(dumper);
                    FILE *f = fopen(argv[1], "rb");
                    unsigned char header[24];
                    if (f && fread(header, 1, 24, f) == 24) { uint32_t v; memcpy(&v, header + 20, 4); linktype = v; }
                    if (f) fclose(f);
                }
                if (dead) pcap_close(dead);
                printf("%d\\t%ld\\t%s\\t%s\\n", dlt, linktype, name, description ? description : "");
            }
            return 0;
        }
        """

    /// (DLT_, LINKTYPE_ or -1, name, description) for every DLT_ libpcap names.
    private func libpcapLinkTypes() throws -> [(dlt: UInt32, linkType: Int, name: String, description: String)] {
        let dir = try makeTemporaryDirectory("scB-linktype")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.probe.write(toFile: dir + "/probe.c", atomically: true, encoding: .utf8)
        let gcc = try runProcess(["/usr/bin/gcc", "-O1", "-o", dir + "/probe", dir + "/probe.c", "-lpcap"], timeout: 60)
        XCTAssertEqual(gcc.status, 0, "compiling the libpcap probe needs gcc and libpcap-dev (.ci/setup): \(gcc.stderr)")
        let run = try runProcess([dir + "/probe", dir + "/header.pcap"], timeout: 60)
        XCTAssertEqual(run.status, 0, run.stderr)
        return run.stdout.split(separator: "\n").map {
            let f = $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return (UInt32(f[0])!, Int(f[1])!, f[2], f[3])
        }
    }

    func testDLTValuesBecomeTheLinkTypesLibpcapWritesInFiles() throws {
        let libpcap = try libpcapLinkTypes()
        XCTAssertGreaterThan(libpcap.count, 100, "libpcap names many link types")
        var differing: [UInt32: UInt32] = [:]
        for entry in libpcap where entry.linkType >= 0 {
            XCTAssertEqual(LinkType(linuxDLT: entry.dlt).rawValue, UInt32(entry.linkType), "DLT_\(entry.name) \(entry.dlt)")
            if entry.linkType != Int(entry.dlt) { differing[entry.dlt] = UInt32(entry.linkType) }
        }
        // The values that do differ on Linux, raw IP among them.
        XCTAssertEqual(differing, [11: 100, 12: 101, 15: 102, 16: 103, 19: 106])
        XCTAssertEqual(LinkType(linuxDLT: 12), .raw)
    }

    func testNamesAreLibpcapsForEveryLinkTypeAndOnlyThose() throws {
        var named = Set<UInt32>()
        for entry in try libpcapLinkTypes() {
            // A file's LINKTYPE_ value, and the DLT_ number itself (which libpcap
            // reads as that DLT_ in files of old libpcaps), both carry its names.
            var linkTypes = [LinkType(rawValue: entry.dlt)]
            if entry.linkType >= 0 { linkTypes.append(LinkType(rawValue: UInt32(entry.linkType))) }
            for linkType in linkTypes {
                XCTAssertEqual(linkType.name, entry.name, "\(linkType)")
                XCTAssertEqual(linkType.longName, entry.description, "\(linkType)")
                XCTAssertEqual(linkType.tcpdumpName, "\(entry.name) (\(entry.description))")
            }
            // A name means the LINKTYPE_ value.
            XCTAssertEqual(LinkType(name: entry.name), LinkType(linuxDLT: entry.dlt), entry.name)
            XCTAssertEqual(LinkType(name: entry.name.lowercased()), LinkType(linuxDLT: entry.dlt),
                           "case-insensitive, as pcap_datalink_name_to_val")
            named.insert(entry.dlt)
        }
        XCTAssertEqual(Set(LinkType.names.keys), named, "the table holds exactly what libpcap names")
        // Values libpcap does not name: no name, and tcpdump's number.
        for unnamed in [LinkType(rawValue: 13), LinkType(rawValue: 3), LinkType(rawValue: 65_000)] {
            XCTAssertNil(unnamed.name, "\(unnamed)")
            XCTAssertNil(unnamed.longName, "\(unnamed)")
            XCTAssertEqual(unnamed.tcpdumpName, "\(unnamed.rawValue)")
        }
        XCTAssertNil(LinkType(name: "NOSUCHTYPE"))
        XCTAssertNil(LinkType(name: ""))
        XCTAssertEqual(LinkType(name: "RAW"), .raw)
        XCTAssertEqual(LinkType.raw.tcpdumpName, "RAW (Raw IP)")
        XCTAssertEqual(LinkType.linuxSLL2.name, "LINUX_SLL2")
        XCTAssertEqual(LinkType.ethernet.name, "EN10MB")
    }
}
