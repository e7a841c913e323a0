import Foundation
import Glibc
import TestSupport
import XCTest

/// tcpdump's flags on `swiftcap`, each checked against what tcpdump does with it (issue 9).
final class CLIFlagTests: XCTestCase {
    private let corpus = "../shared/corpus/libpcap-tests/filter"

    private func swiftcap(_ arguments: [String]) throws -> ProcessResult {
        try runProcess([try BuiltProducts.cli()] + arguments, environment: ["SWIFTCAP_HELPER": try BuiltProducts.helper()], timeout: 30)
    }

    /// "listening on lo, link-type EN10MB (Ethernet), snapshot length N bytes" from stderr.
    private func statusLine(_ stderr: String) -> String? {
        stderr.split(separator: "\n").first { $0.contains("listening on") }.map { line in
            String(line[line.range(of: "listening on")!.lowerBound...])
        }
    }

    /// tcpdump's status line for `arguments` (it is stopped once listening).
    private func tcpdumpStatusLine(_ arguments: [String]) throws -> String? {
        let tcpdump = try ChildProcess(["/usr/bin/tcpdump", "-w", "/dev/null"] + arguments)
        _ = tcpdump.waitForStderr(timeout: 10) { $0.contains("listening on") }
        tcpdump.send(SIGINT)
        return statusLine(tcpdump.wait(timeout: 10).stderr)
    }

    /// -s 0 is the maximum, -s N keeps N bytes, and the status line (with the
    /// link type's name) reads as tcpdump's, word for word.
    func testSnaplenZeroAndTheStatusLineMatchTcpdump() throws {
        try requireRoot()
        for (arguments, size) in [(["-i", "lo", "-s", "0"], 3000), (["-i", "lo", "-s", "100"], 300), (["-i", "any", "-s", "0"], 100)] {
            let port = LoopbackTraffic.freePort()
            // tcpdump picks LINUX_SLL2 on "any"; swiftcap has no -y yet, so compare with tcpdump -y LINUX_SLL there.
            let tcpdumpArguments = arguments.contains("any") ? arguments + ["-y", "LINUX_SLL"] : arguments
            let theirs = try XCTUnwrap(try tcpdumpStatusLine(tcpdumpArguments), "tcpdump \(tcpdumpArguments) printed no status line")
            let cli = try startSwiftcapCapture(arguments + ["-c", "1", "--json", "udp", "port", "\(port)"])
            XCTAssertEqual(statusLine(cli.stderr), theirs)
            try sendMarkers(["s0"], port: port, size: size)
            let r = cli.wait(timeout: 10)
            XCTAssertEqual(r.status, 0, r.stderr)
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
            let snaplen = Int(arguments[3])!
            let wire = object["len"] as? Int ?? -1
            XCTAssertEqual(object["caplen"] as? Int, snaplen == 0 ? wire : min(snaplen, wire), r.stdout)
            XCTAssertEqual(object["ifname"] as? String, arguments[1])
        }
    }

    /// Every link type of the libpcap test corpus: the JSON's "linktype_name"
    /// is the name tcpdump prints for the file ("link-type NAME (DESCRIPTION)").
    func testLinkTypeNamesAreTcpdumps() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus).filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted()
        XCTAssertGreaterThan(files.count, 20, "the corpus is missing: \(corpus)")
        var names = Set<String>()
        for file in files {
            let path = corpus + "/" + file
            let tcpdump = try runProcess(["/usr/bin/tcpdump", "-r", path, "-c", "1"], timeout: 10)
            guard let range = tcpdump.stderr.range(of: "link-type ") else { continue }
            let theirs = tcpdump.stderr[range.upperBound...].prefix { $0 != " " && $0 != "," }
            let r = try swiftcap(["read", path, "-c", "1", "--json"])
            let object = try? JSONSerialization.jsonObject(with: Data((r.stdout.split(separator: "\n").first ?? "").utf8)) as? [String: Any]
            XCTAssertEqual(object?["linktype_name"] as? String, String(theirs), "\(file): \(r.stdout) \(r.stderr)")
            names.insert(String(theirs))
        }
        XCTAssertGreaterThanOrEqual(names.count, 8, "the corpus should cover many link types: \(names)")
    }

    /// -r FILE on `capture` and at the top level reads the file, as `read` and
    /// tcpdump -r do: same packets, same filter, -c honoured.
    func testReadFlagEverywhereMatchesTcpdump() throws {
        let path = corpus + "/vrrp.pcap"
        let expected = try toolLines(["/usr/bin/tcpdump", "-r", path, "-n", "ip"]).count
        XCTAssertGreaterThan(expected, 0)
        for arguments in [["-r", path, "--count", "ip"], ["capture", "-r", path, "--count", "ip"], ["--count", "-r", path, "ip"],
                          ["read", path, "--count", "ip"]] {
            let r = try swiftcap(arguments)
            XCTAssertEqual(r.status, 0, "\(arguments): \(r.stderr)")
            XCTAssertEqual(r.stdout, "\(expected)\n", "\(arguments)")
        }
        let r = try swiftcap(["-c", "3", "-r", path])
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 3, r.stdout)
        XCTAssertEqual(try toolLines(["/usr/bin/tcpdump", "-c", "3", "-r", path]).count, 3)
    }

    /// -F FILE: the filter comes from the file, `#` comments and newlines
    /// included, and selects what tcpdump -F selects (read and live capture).
    func testFilterFileSelectsWhatTcpdumpSelects() throws {
        try requireRoot()
        let dir = try makeTemporaryDirectory("sc9-filter")
        let filterFile = dir + "/filter"
        try "# VRRP and nothing else\nip proto 112   # vrrp\n  and not icmp\n".write(toFile: filterFile, atomically: true, encoding: .utf8)
        let path = corpus + "/vrrp.pcap"
        let theirs = try toolLines(["/usr/bin/tcpdump", "-n", "-r", path, "-F", filterFile]).count
        let all = try toolLines(["/usr/bin/tcpdump", "-n", "-r", path]).count
        XCTAssertGreaterThan(theirs, 0)
        XCTAssertLessThan(theirs, all, "the filter must select a part of the file")
        for arguments in [["read", path, "-F", filterFile, "--count"], ["-r", path, "-F", filterFile, "--count"]] {
            let r = try swiftcap(arguments)
            XCTAssertEqual(r.stdout, "\(theirs)\n", "\(arguments): \(r.stderr)")
        }

        // Live: only the port named in the file is captured.
        let port = LoopbackTraffic.freePort()
        try "udp port \(port) # the test's port\n".write(toFile: filterFile, atomically: true, encoding: .utf8)
        let capture = dir + "/live.pcapng"
        let cli = try startSwiftcapCapture(["-i", "lo", "-F", filterFile, "-w", capture])
        try sendMarkers(["other"], port: port &+ 1)
        try sendMarkers(["mine1", "mine2"], port: port)
        usleep(300_000)
        cli.send(SIGINT)
        XCTAssertEqual(cli.wait(timeout: 10).status, 0)
        let ports = try toolLines(["/usr/bin/tshark", "-r", capture, "-T", "fields", "-e", "udp.dstport"])
        XCTAssertEqual(ports, ["\(port)", "\(port)"])
    }

    /// -D (top level and on capture) lists what `swiftcap devices` and tcpdump -D list.
    func testListDevicesFlag() throws {
        try requireRoot()
        let devices = try swiftcap(["devices"])
        XCTAssertEqual(devices.status, 0, devices.stderr)
        for arguments in [["-D"], ["capture", "-D"]] {
            let r = try swiftcap(arguments)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout, devices.stdout, "\(arguments)")
        }
        func names(_ listing: String) -> [String] {
            listing.split(separator: "\n").filter { $0.first?.isNumber == true }.map { line in
                String(line.drop { $0 != "." }.dropFirst().prefix { $0 != " " })
            }
        }
        XCTAssertEqual(names(devices.stdout), names(try toolLines(["/usr/bin/tcpdump", "-D"]).joined(separator: "\n")))
    }

    /// `devices --link-types`: each device that is up shows the link type it
    /// opens with, named as tcpdump -L names the ones it offers (its first, the default).
    func testDevicesShowLinkTypesAsTcpdumpNamesThem() throws {
        try requireRoot()
        let r = try swiftcap(["devices", "--link-types"])
        XCTAssertEqual(r.status, 0, r.stderr)
        var checked = 0
        for line in r.stdout.split(separator: "\n") where line.first?.isNumber == true && line.contains("[Up") {
            let name = String(line.drop { $0 != "." }.dropFirst().prefix { $0 != " " })
            let ours = try XCTUnwrap(line.range(of: " link-type ").map { String(line[$0.upperBound...]) }, String(line))
            // tcpdump -L writes the list to stderr, after a "Data link types for ..." line.
            let listing = try runProcess(["/usr/bin/tcpdump", "-L", "-i", name], timeout: 10)
            XCTAssertEqual(listing.status, 0, listing.stderr)
            let offered = listing.stderr.split(separator: "\n").filter { $0.hasPrefix("  ") }.map { $0.trimmingCharacters(in: .whitespaces) }
            XCTAssertEqual(ours, offered.first, "\(name): tcpdump -L offers \(offered)")
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 2, "lo and any at least: \(r.stdout)")
        XCTAssertTrue(r.stdout.contains("lo [Up, Running, Loopback] link-type EN10MB (Ethernet)\n"), r.stdout)
    }

    /// -Q in / -Q out: on a veth pair, pings from our side are echo requests
    /// going out and echo replies coming in, as tcpdump -Q sees them.
    func testDirectionFlag() throws {
        let veths = try VethLinks(links: 1)
        defer { veths.cleanup() }
        let dir = try makeTemporaryDirectory("sc9-direction")
        for (direction, expected) in [("in", "echo reply"), ("out", "echo request")] {
            let path = "\(dir)/\(direction).pcapng"
            let cli = try startSwiftcapCapture(["-i", veths.links[0].local, "-Q", direction, "-w", path, "icmp"],
                                               namespace: veths.captureNamespace)
            try veths.ping(link: 0, count: 3)
            usleep(300_000)
            cli.send(SIGINT)
            XCTAssertEqual(cli.wait(timeout: 10).status, 0)
            let lines = try toolLines(["/usr/bin/tcpdump", "-n", "-r", path])
            XCTAssertEqual(lines.count, 3, "-Q \(direction): \(lines)")
            XCTAssertTrue(lines.allSatisfy { $0.contains(expected) }, "-Q \(direction): \(lines)")
        }
    }

    /// -p: the interface is not put into promiscuous mode (its promiscuity
    /// counter stays 0 while swiftcap captures); without -p it is, as with tcpdump.
    func testNoPromiscuousFlag() throws {
        let veths = try VethLinks(links: 1)
        defer { veths.cleanup() }
        let interface = veths.links[0].local
        func promiscuity() throws -> Int? {
            let r = try runChecked(["/usr/sbin/ip", "-n", veths.captureNamespace, "-d", "link", "show", interface])
            return r.stdout.range(of: "promiscuity ").flatMap { Int(r.stdout[$0.upperBound...].prefix { $0.isNumber }) }
        }
        for (arguments, expected) in [(["-p"], 0), ([], 1)] {
            let cli = try startSwiftcapCapture(["-i", interface] + arguments + ["icmp"], namespace: veths.captureNamespace)
            XCTAssertEqual(try promiscuity(), expected, "swiftcap capture \(arguments)")
            cli.send(SIGINT)
            XCTAssertEqual(cli.wait(timeout: 10).status, 0)
        }
        XCTAssertEqual(try promiscuity(), 0, "promiscuous mode ends with the capture")
    }

    /// --micro / --nano choose the pcap file's timestamp magic as tcpdump's do
    /// (a1b2c3d4 for microseconds, a1b23c4d for nanoseconds).
    func testNanoAndMicroChooseTheFilePrecision() throws {
        try requireRoot()
        let dir = try makeTemporaryDirectory("sc9-precision")
        for (flag, magic) in [("--micro", UInt32(0xA1B2_C3D4)), ("--nano", UInt32(0xA1B2_3C4D))] {
            let port = LoopbackTraffic.freePort()
            let path = "\(dir)/\(flag.dropFirst(2)).pcap"
            let cli = try startSwiftcapCapture(["-i", "lo", flag, "-c", "1", "-w", path, "--format", "pcap", "udp", "port", "\(port)"])
            try sendMarkers(["p"], port: port)
            XCTAssertEqual(cli.wait(timeout: 10).status, 0)
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            XCTAssertEqual(data.prefix(4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }, magic, flag)
            let lines = try toolLines(["/usr/bin/tcpdump", "-n", "--nano", "-r", path])
            XCTAssertEqual(lines.count, 1)
            if flag == "--micro" { XCTAssertTrue(lines[0].split(separator: " ")[0].hasSuffix("000"), lines[0]) }
        }
    }

    /// The bad-input table: each gets one clear error in the CLI's words.
    func testBadInputsGetOneClearError() throws {
        let cases: [(arguments: [String], message: String)] = [
            (["captur", "-i", "lo"], "Did you mean 'capture'?"),
            (["devics"], "Did you mean 'devices'?"),
            (["capture", "--jsn"], "Did you mean '--json'?"),
            (["-i", "lo"], "options go after a subcommand: swiftcap capture -i lo"),
            (["capture", "-s", "999999"], "invalid snaplen 999999 (must be >= 0 and <= 262144; 0 means 262144)"),
            (["capture", "-s", "262145"], "invalid snaplen 262145"),
            (["capture", "-Q", "sideways"], "'-Q <direction>'"),
            (["capture", "--nano", "--micro"], "--nano and --micro exclude each other"),
            (["capture", "--timeout", "0"], "--timeout must be 1 to 4294967295 ms; use --immediate-mode for no buffering"),
            (["capture", "--micro", "--time-stamp-precision", "nano"], "contradicts --micro"),
            (["capture", "-F", "/nonexistent/filter", "-i", "lo"], "cannot read the filter file /nonexistent/filter (-F)"),
            (["capture", "-F", "/dev/null", "icmp"], "-F FILE gives the filter; drop the filter words (icmp) or -F"),
            (["capture", "-r", "x.pcap", "-i", "lo"], "-r reads a file and -i captures live"),
            (["capture", "-i", "lo", "-i", "lo"], "-i lo is given twice"),
        ]
        for c in cases {
            let r = try swiftcap(c.arguments)
            XCTAssertNotEqual(r.status, 0, "\(c.arguments)")
            XCTAssertTrue(r.stderr.contains(c.message), "\(c.arguments): \(r.stderr)")
            XCTAssertEqual(r.stderr.components(separatedBy: c.message).count, 2, "said more than once: \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("Unknown option '-i'") && c.arguments.first == "captur", r.stderr)
        }
    }

    /// Monitor mode (-I) on an interface without it: refused as tcpdump refuses, in the CLI's words.
    func testMonitorModeFlagOnLoopback() throws {
        try requireRoot()
        let r = try swiftcap(["capture", "-I", "-i", "lo", "-c", "1"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("doesn't support monitor mode"), r.stderr)
        XCTAssertTrue(r.stderr.contains("drop -I"), r.stderr)
        let tcpdump = try runProcess(["/usr/bin/tcpdump", "-I", "-i", "lo", "-c", "1"], timeout: 10)
        XCTAssertTrue(tcpdump.stderr.contains("doesn't support monitor mode"), tcpdump.stderr)
    }
}
