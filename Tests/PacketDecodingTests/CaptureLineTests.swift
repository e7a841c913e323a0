import Foundation
import Glibc
import TestSupport
import XCTest

/// `swiftcap capture -n [-q]` prints, live, the lines `tcpdump -n [-q]` prints for the same
/// packets: both listen on the loopback device at once while this process makes
/// a TCP exchange and an ICMP port-unreachable on 127.8.0.2 (bounded: a few dozen packets).
final class CaptureLineTests: XCTestCase {
    func start(_ argv: [String]) throws -> ChildProcess {
        let child = try ChildProcess(argv, environment: ["TZ": "UTC"])
        guard child.waitForStderr(timeout: 10, { $0.contains("listening on") }) else {
            child.send(SIGKILL)
            throw TestSupportError("\(argv[0]) did not start listening: \(child.stderr)")
        }
        return child
    }

    func testCaptureLinesEqualTcpdumpLive() throws {
        try requireRoot("it captures on the loopback device")
        let port = LoopbackTraffic.freePort(), closed = LoopbackTraffic.freePort()
        let filter = ["host", "127.8.0.2", "and", "(tcp", "port", "\(port)", "or", "icmp", "or", "udp", "port", "\(closed))"]
        for flags in [["-n"], ["-n", "-q"]] {
            let ours = try start([try BuiltProducts.cli(), "capture", "--helper", try BuiltProducts.helper(), "-i", "lo",
                                  "--immediate", "--duration", "8", "--time-stamp-precision", "micro"] + flags + filter)
            let theirs = try start(["/usr/bin/tcpdump", "-i", "lo", "-l"] + flags + filter)
            try LoopbackTCP.exchange(address: "127.8.0.2", port: port, family: AF_INET)
            try LoopbackTCP.sendUDP(address: "127.8.0.2", port: closed, family: AF_INET)
            usleep(500_000)
            theirs.send(SIGINT)
            ours.send(SIGINT)
            // Each packet socket may read the clock itself for a packet (loopback sends carry
            // no timestamp), so the two captures' times can differ by a microsecond: the
            // lines are compared after the timestamp, whose format the read tests compare.
            func withoutTime(_ out: String) -> [Substring] { out.split(separator: "\n").map { $0.drop { $0 != " " } } }
            let a = withoutTime(theirs.wait(timeout: 10).stdout)
            let b = withoutTime(ours.wait(timeout: 10).stdout)
            XCTAssertGreaterThanOrEqual(a.count, 10, "tcpdump saw too few packets: \(a)")
            XCTAssertEqual(a.count, b.count, "\(flags): tcpdump \(a.count) lines, swiftcap \(b.count)")
            for (x, y) in zip(a, b) where x != y {
                XCTFail("\(flags):\n tcpdump:  \(x)\n swiftcap: \(y)")
            }
        }
    }
}
