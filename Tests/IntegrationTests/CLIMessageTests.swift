import Foundation
import Glibc
import TestSupport
import XCTest

/// CLI errors speak the CLI's language: flags, never the library's Swift names,
/// and each piece of advice once (issue 6, "Messages").
final class CLIMessageTests: XCTestCase {
    /// Names of the Swift API that a CLI user never typed.
    static let apiNames = ["helperPath", "promiscuous:", "timestampPrecision", "monitorMode", "filterLengthLimit", "optimize:",
                           "NetworkDevice", "CaptureOptions", "FilterCompiler", "SSHDestination", "LiveCapture", "snapshotLength",
                           "bufferSize", ".milliseconds(", "requestTimeout"]

    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("PacketCaptureTests/Samples/tcpdump-us.pcap").path

    func testErrorsNameFlagsNotSwiftProperties() throws {
        try requireRoot()
        let dir = try makeTemporaryDirectory("swiftcap-cli-messages")
        defer { removeTemporary(dir) }
        let costly = dir + "/costly.filter"
        // About 3.5 KB, inside the length limit, but far past the compile budget optimized.
        try (1 ... 300).map { "port \($0)" }.joined(separator: " or ").write(toFile: costly, atomically: true, encoding: .utf8)
        // 100 ports: cheap unoptimized (0.2 s) but over the kernel's 4096 instructions.
        let wide = dir + "/wide.filter"
        try (1 ... 100).map { "port \($0)" }.joined(separator: " or ").write(toFile: wide, atomically: true, encoding: .utf8)
        let long = dir + "/long.filter"
        try String(repeating: "udp or ", count: 1300).appending("udp").write(toFile: long, atomically: true, encoding: .utf8)
        let helper = try BuiltProducts.helper()

        let cases: [(name: String, arguments: [String], says: [String])] = [
            ("helper missing", ["capture", "-i", "lo", "--helper", "/nonexistent/swiftcap-helper"], ["/nonexistent/swiftcap-helper", "--helper"]),
            ("no such interface", ["capture", "-i", "nosuchif0", "--helper", helper], ["nosuchif0", "swiftcap devices (-D)"]),
            ("not an interface", ["capture", "-i", "dbus-session", "--helper", helper], ["D-Bus", "any"]),
            ("buffer too big", ["capture", "-i", "lo", "-B", "2000000", "--helper", helper], ["-B", "1 GiB"]),
            ("snaplen", ["capture", "-i", "lo", "-s", "300000", "--helper", helper], ["snaplen"]),
            ("timeout", ["capture", "-i", "lo", "--timeout", "0", "--helper", helper], ["--timeout"]),
            ("filter too long", ["capture", "-i", "lo", "-F", long, "--helper", helper], ["8192"]),
            ("filter too costly", ["capture", "-i", "lo", "-F", costly, "--helper", helper], ["2000 ms of CPU time", "-O"]),
            ("filter too costly, read", ["read", "--helper", helper, Self.sample, "-F", costly],
             ["2000 ms of CPU time", "-O"]),
        ]
        for c in cases {
            let r = try runProcess([try BuiltProducts.cli()] + c.arguments, timeout: 60)
            XCTAssertNotEqual(r.status, 0, "\(c.name): succeeded")
            for s in c.says { XCTAssertTrue(r.stderr.contains(s), "\(c.name): lacks \"\(s)\": \(r.stderr)") }
            for api in Self.apiNames { XCTAssertFalse(r.stderr.contains(api), "\(c.name): names the API (\(api)): \(r.stderr)") }
            // Each piece of advice once: no sentence repeats.
            let sentences = r.stderr.split(whereSeparator: { ";\n".contains($0) }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            XCTAssertEqual(sentences.count, Set(sentences).count, "\(c.name): advice repeated: \(r.stderr)")
        }

        // -O skips the optimizer: this chain then compiles fast but too big for
        // the kernel, which the message says (briefly: the expression is cut).
        let unoptimized = try runProcess([try BuiltProducts.cli(), "read", "--helper", helper, "-O", "--count", Self.sample, "-F", wide])
        XCTAssertNotEqual(unoptimized.status, 0)
        XCTAssertTrue(unoptimized.stderr.contains("instructions; the kernel accepts 1...4096"), unoptimized.stderr)
        XCTAssertLessThan(unoptimized.stderr.count, 600, "the whole expression was repeated: \(unoptimized.stderr)")
        // A short chain compiles with -O as without it.
        let fine = try runProcess([try BuiltProducts.cli(), "read", "--helper", helper, "-O", "--count", Self.sample, "port 53 or port 80"])
        XCTAssertEqual(fine.status, 0, fine.stderr)
    }
}
