import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

/// `swiftcap capture` end to end, as a user would run it.
final class CLITests: XCTestCase {
    private func startCapture(_ arguments: [String]) throws -> ChildProcess {
        let cli = try ChildProcess([try BuiltProducts.cli(), "capture", "--helper", try BuiltProducts.helper()] + arguments)
        guard cli.waitForStderr(timeout: 10, { $0.contains("listening on") }) else {
            cli.send(SIGKILL)
            throw TestSupportError("the CLI did not start listening: \(cli.stderr)")
        }
        return cli
    }

    /// tcpdump's three counters from stderr.
    private func counters(_ stderr: String) -> (captured: Int?, received: Int?, dropped: Int?) {
        func number(before suffix: String) -> Int? {
            for line in stderr.split(separator: "\n") where line.hasSuffix(suffix) {
                return Int(line.dropLast(suffix.count).trimmingCharacters(in: .whitespaces))
            }
            return nil
        }
        return (number(before: " packets captured"), number(before: " packets received by filter"), number(before: " packets dropped by kernel"))
    }

    func testCountStopsAtCountAndPrintsTheSummaryLines() throws {
        try requireRoot()
        let port = LoopbackTraffic.freePort()
        let cli = try startCapture(["-i", "lo", "-c", "5", "udp", "port", "\(port)"])
        try sendMarkers((0 ..< 8).map { "cli\($0)" }, port: port, size: 100)
        let r = cli.wait(timeout: 10)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 5, r.stdout)
        for line in lines {
            // tcpdump's line: "HH:MM:SS.UUUUUU IP 127.0.0.1.SPORT > 127.0.0.1.PORT: UDP, length 100"
            let fields = line.split(separator: " ")
            XCTAssertEqual(fields.count, 8, String(line))
            XCTAssertEqual(fields.first?.split(separator: ".").last?.count, 6, String(line))
            XCTAssertEqual(Array(fields.dropFirst()).prefix(2), ["IP", fields[2]])
            XCTAssertEqual(Array(fields.suffix(4)), ["127.0.0.1.\(port):", "UDP,", "length", "100"], String(line))
        }
        let c = counters(r.stderr)
        XCTAssertEqual(c.captured, 5)
        XCTAssertGreaterThanOrEqual(c.received ?? 0, 5)
        XCTAssertEqual(c.dropped, 0)
    }

    func testCountOnlyJSONSnaplenAndOptions() throws {
        try requireRoot()
        let port = LoopbackTraffic.freePort()
        var cli = try startCapture(["-i", "lo", "-c", "3", "--count", "-p", "-B", "4096", "--timeout", "10",
                                    "--direction", "inout", "udp", "port", "\(port)"])
        try sendMarkers(["a", "b", "c"], port: port)
        var r = cli.wait(timeout: 10)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "3\n", "--count prints only the number")

        cli = try startCapture(["-i", "lo", "-c", "2", "--json", "-s", "100", "--immediate", "--time-stamp-precision", "micro",
                                "udp", "port", "\(port)"])
        XCTAssertTrue(cli.stderr.contains("snapshot length 100 bytes"), cli.stderr)
        try sendMarkers(["d", "e"], port: port, size: 200)
        r = cli.wait(timeout: 10)
        XCTAssertEqual(r.status, 0, r.stderr)
        let objects = try r.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(objects.count, 2)
        for o in objects {
            XCTAssertEqual(o?["caplen"] as? Int, 100)
            XCTAssertEqual(o?["len"] as? Int, 242)
            XCTAssertEqual(o?["linktype"] as? Int, 1)
            XCTAssertEqual(o?["interface"] as? Int, 0)
            XCTAssertEqual((o?["ts"] as? String)?.suffix(3), "000", "microsecond timestamps end in 000")
        }
    }

    func testDurationStopsTheCapture() throws {
        try requireRoot()
        let start = Date()
        let cli = try startCapture(["-i", "lo", "--duration", "0.5", "udp", "port", "9"])
        let r = cli.wait(timeout: 10)
        let took = Date().timeIntervalSince(start)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertLessThan(took, 3)
        XCTAssertEqual(counters(r.stderr).captured, 0)
        XCTAssertNotNil(counters(r.stderr).dropped)
    }

    func testSIGINTAndSIGTERMStopWithStatistics() throws {
        try requireRoot()
        for sig in [SIGINT, SIGTERM] {
            let port = LoopbackTraffic.freePort()
            let cli = try startCapture(["-i", "lo", "--count", "udp", "port", "\(port)"])
            try sendMarkers(["s1", "s2"], port: port)
            Thread.sleep(forTimeInterval: 0.3)
            cli.send(sig)
            let r = cli.wait(timeout: 5)
            XCTAssertEqual(r.status, 0, "signal \(sig): \(r.stderr)")
            XCTAssertEqual(r.stdout, "2\n")
            let c = counters(r.stderr)
            XCTAssertEqual(c.captured, 2)
            // lo: the kernel counts the sent and the received copy; libpcap drops the sent one.
            XCTAssertGreaterThanOrEqual(c.received ?? 0, 2)
            XCTAssertEqual(c.dropped, 0)
        }
    }

    func testHelperDeathIsReportedWithExitStatus1() throws {
        try requireRoot()
        for (sig, name) in [(SIGKILL, "SIGKILL"), (SIGSEGV, "SIGSEGV")] {
            let cli = try startCapture(["-i", "lo", "udp", "port", "9"])
            let helper = try XCTUnwrap(child(of: cli.pid, named: "swiftcap-helper"))
            kill(helper, sig)
            let r = cli.wait(timeout: 5)
            XCTAssertNil(r.signal, "the CLI died of a signal")
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("swiftcap-helper (pid \(helper)) was killed by signal \(name)"), r.stderr)
            XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
        }
    }

    func testBadArgumentsAndErrors() throws {
        try requireRoot()
        let cli = try BuiltProducts.cli()
        var r = try runProcess([cli, "capture", "--helper", try BuiltProducts.helper(), "-i", "nosuchif0", "-c", "1"], timeout: 15)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("nosuchif0") && r.stderr.contains("swiftcap devices"), r.stderr)
        r = try runProcess([cli, "capture", "--helper", try BuiltProducts.helper(), "-i", "lo", "-c", "1", "port", "port"], timeout: 15)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("pcap-filter(7)"), r.stderr)
        r = try runProcess([cli, "capture", "--helper", "/nonexistent/helper", "-i", "lo"], timeout: 15)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("--helper") && !r.stderr.contains("helperPath"), "the CLI names its flag: \(r.stderr)")
        r = try runProcess([cli, "capture", "--immediate", "--timeout", "5", "-i", "lo"], timeout: 15)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("exclude each other"), r.stderr)
    }

    /// Output throughput: --count versus per-packet lines, to a pipe.
    func testOutputThroughput() throws {
        try requireRoot()
        for mode in [["--count"], ["--json"], []] {
            let port = LoopbackTraffic.freePort()
            let total = 100_000
            let cli = try startCapture(["-i", "lo", "-c", "\(total)", "-s", "128", "-B", "65536"] + mode + ["udp", "port", "\(port)"])
            let start = Date()
            try LoopbackTraffic.sendUDP(port: port, payload: LoopbackTraffic.payload("o", size: 18), count: total, maxSeconds: 20)
            // ^C stops at the next batch, so let the CLI work through its backlog first
            // (its pace depends on the machine's load, not on what this test checks).
            Thread.sleep(forTimeInterval: 0.5)
            XCTAssertTrue(cli.waitForStdoutToSettle(quiet: 1, timeout: 90), "\(mode): the CLI's output never settled")
            cli.send(SIGINT)
            let r = cli.wait(timeout: 10)
            let seconds = Date().timeIntervalSince(start)
            let c = counters(r.stderr)
            XCTAssertEqual(r.status, 0, r.stderr)
            let lines = r.stdout.split(separator: "\n").count
            if mode == ["--count"] { XCTAssertEqual(lines, 1) } else { XCTAssertEqual(lines, c.captured ?? -1) }
            print("CLI \(mode.first ?? "summary"): \(c.captured ?? 0) of \(total) packets captured in \(String(format: "%.2f", seconds)) s, \(c.dropped ?? -1) dropped by kernel, \(r.stdoutData.count) bytes of output")
            XCTAssertGreaterThan(c.captured ?? 0, total / 2)
        }
    }

    /// Without --helper or SWIFTCAP_HELPER, and no helper next to the CLI: the
    /// error lists the places tried and how to point at a helper.
    func testHelperNotFoundListsThePathsTried() throws {
        let dir = try makeTemporaryDirectory("swiftcap-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cli = dir + "/swiftcap"
        try FileManager.default.copyItem(atPath: try BuiltProducts.cli(), toPath: cli)
        // An empty prefix list keeps a helper installed on this machine out of the way.
        let r = try runProcess([cli, "capture", "-i", "lo", "-c", "1"], environment: ["SWIFTCAP_HELPER": "", "SWIFTCAP_HELPER_PREFIXES": dir + "/none"], timeout: 15)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("tried \(dir)/swiftcap-helper, \((dir as NSString).deletingLastPathComponent)/libexec/swiftcap/swiftcap-helper, \(dir)/none/libexec/swiftcap/swiftcap-helper)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("give --helper PATH (or set SWIFTCAP_HELPER)"), r.stderr)
        XCTAssertFalse(r.stderr.contains("helperPath"), "the CLI names its flag, not the API's: \(r.stderr)")
    }
}
