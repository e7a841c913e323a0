import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

/// tcpdump's -L, -y, -J and -j: listing and choosing an interface's link type
/// and time stamp type, compared with tcpdump on the same interfaces.
final class CLILinkTypeTests: XCTestCase {
    private func swiftcap(_ arguments: [String], timeout: Double = 20) throws -> ProcessResult {
        try runProcess([try BuiltProducts.cli(), "capture", "--helper", try BuiltProducts.helper()] + arguments, timeout: timeout)
    }

    func testListsEqualTcpdumps() throws {
        try requireRoot()
        for (flag, interface) in [("-L", "lo"), ("-L", "any"), ("-J", "lo"), ("-J", "any")] {
            let ours = try swiftcap([flag, "-i", interface])
            let theirs = try runProcess(["/usr/bin/tcpdump", flag, "-i", interface])
            XCTAssertEqual(ours.status, 0, ours.stderr)
            // tcpdump writes these lists to stderr.
            XCTAssertEqual(ours.stderr, theirs.stderr, "\(flag) -i \(interface)")
            XCTAssertFalse(ours.stderr.isEmpty, "\(flag) -i \(interface) said nothing")
        }
    }

    func testTheLibraryListsLinkAndTimeStampTypes() async throws {
        try requireRoot()
        let any = try await InterfaceDetails.of("any", helperPath: try BuiltProducts.helper())
        XCTAssertEqual(Set(any.linkTypes.map(\.name)), ["LINUX_SLL", "LINUX_SLL2"])
        XCTAssertEqual(any.linkTypes.first { $0.name == "LINUX_SLL2" }?.value, 276)
        let lo = try await InterfaceDetails.of("lo", helperPath: try BuiltProducts.helper())
        XCTAssertEqual(lo.linkTypes.map(\.name), ["EN10MB"])
        do {
            _ = try await InterfaceDetails.of("nosuchif0", helperPath: try BuiltProducts.helper())
            XCTFail("an absent interface was described")
        } catch let error as CaptureError {
            XCTAssertEqual(error.code, .interfaceNotFound, error.message)
        }
    }

    func testChoosingALinkTypeCapturesWithIt() throws {
        try requireRoot()
        for (name, value, description) in [("LINUX_SLL", 113, "Linux cooked v1"), ("LINUX_SLL2", 276, "Linux cooked v2")] {
            let cli = try ChildProcess([try BuiltProducts.cli(), "capture", "--helper", try BuiltProducts.helper(), "-i", "any",
                                        "-y", name, "--json", "-c", "2", "--duration", "10", "icmp"])
            XCTAssertTrue(cli.waitForStderr(timeout: 10) { $0.contains("listening on") }, cli.stderr)
            _ = try runProcess(["/usr/bin/ping", "-c", "2", "-i", "0.2", "-W", "1", "127.0.0.1"], timeout: 10)
            let r = cli.wait(timeout: 15)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("listening on any, link-type \(name) (\(description)), snapshot length"), r.stderr)
            let lines = r.stdout.split(separator: "\n")
            XCTAssertEqual(lines.count, 2, r.stdout)
            XCTAssertTrue(lines.allSatisfy { $0.contains("\"linktype\":\(value),") }, r.stdout)
        }
    }

    func testBadChoicesSayWhatToDo() throws {
        try requireRoot()
        let cases: [(arguments: [String], says: [String])] = [
            (["-i", "lo", "-y", "FOO", "-c", "1"], ["invalid data link type \"FOO\"", "-L"]),
            (["-i", "lo", "-y", "LINUX_SLL", "-c", "1"], ["lo does not offer link type LINUX_SLL", "-L"]),
            (["-i", "lo", "-j", "bogus", "-c", "1"], ["unknown time stamp type \"bogus\"", "-J"]),
            (["-L", "-i", "nosuchif0"], ["nosuchif0", "swiftcap devices (-D)"]),
        ]
        for c in cases {
            let r = try swiftcap(c.arguments)
            XCTAssertNotEqual(r.status, 0, "\(c.arguments)")
            for s in c.says { XCTAssertTrue(r.stderr.contains(s), "\(c.arguments): lacks \"\(s)\": \(r.stderr)") }
            XCTAssertFalse(r.stderr.contains("InterfaceDetails") || r.stderr.contains("monitor mode"), "\(c.arguments): \(r.stderr)")
        }
        // An unsupported time stamp type is a warning, as in tcpdump; the capture runs.
        let r = try swiftcap(["-i", "lo", "-j", "adapter", "--count", "--duration", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: lo: time stamp type adapter is not supported by lo"), r.stderr)
    }
}
