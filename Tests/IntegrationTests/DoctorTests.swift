import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

/// `swiftcap doctor` on a good install (exit 0, every line ✓) and on each broken
/// one (exit 1, the right ✗ line), run as a user of the helper's group or not.
final class DoctorTests: XCTestCase {
    private var accounts: InstallAccounts!
    private var prefix = ""

    override func setUpWithError() throws {
        accounts = try InstallAccounts()
        prefix = try makeTemporaryDirectory("sc7-prefix")
    }

    override func tearDown() {
        accounts?.remove()
    }

    private func install() throws {
        let r = try Install.run(["install-helper", "--prefix", prefix, "--group", accounts.group])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    private func doctor(as user: String, _ extra: [String] = [], environment: [String: String] = [:]) throws -> ProcessResult {
        try runProcess([try Install.cliUnder(prefix), "doctor"] + extra, as: user,
                       environment: Install.isolated(prefix).merging(environment) { $1 }, timeout: 60)
    }

    /// The ✗ lines' check names.
    private func failed(_ r: ProcessResult) -> [String] {
        r.stdout.split(separator: "\n").filter { $0.hasPrefix("✗ ") }.map { String($0.dropFirst(2).prefix { $0 != ":" }) }
    }

    private func assertBroken(_ r: ProcessResult, failing: [String], saying advice: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr, file: file, line: line)
        XCTAssertEqual(failed(r), failing, r.stdout, file: file, line: line)
        for a in advice { XCTAssertTrue(r.stdout.contains(a), "lacks \"\(a)\": \(r.stdout)", file: file, line: line) }
        XCTAssertTrue(r.stdout.hasSuffix("capture does not work for this user yet: fix the ✗ lines above\n"), r.stdout, file: file, line: line)
    }

    func testGoodInstallPassesEveryCheckInTextAndJSON() throws {
        try install()
        let helper = Install.helperPath(prefix)
        let r = try doctor(as: accounts.member)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.last, "capture works for this user")
        XCTAssertEqual(lines.dropLast().map { String($0.prefix(1)) }, Array(repeating: "✓", count: lines.count - 1), r.stdout)
        for expected in ["✓ helper: found at \(helper)",
                         "✓ version: helper version \(HelperInstallation.version), same as swiftcap",
                         "✓ permissions: mode 0750, owner root, group \(accounts.group): you may run it",
                         "✓ capability: file capability cap_net_raw=ep",
                         "✓ mount:", "✓ kernel:", "✓ devices:", "✓ libpcap: libpcap version",
                         "✓ capture: opened lo; the helper after open: CapEff 0000000000000000, NoNewPrivs 1, Seccomp 2"] {
            XCTAssertTrue(lines.contains { $0.hasPrefix(expected) }, "no line \"\(expected)\" in:\n\(r.stdout)")
        }
        // The devices line names what tcpdump -D lists.
        let tcpdump = try runChecked(["/usr/bin/tcpdump", "-D"]).stdout
        XCTAssertTrue(tcpdump.contains("lo [") || tcpdump.contains(".lo "), tcpdump)
        XCTAssertTrue(r.stdout.contains("capture devices: ") && r.stdout.contains("lo"), r.stdout)

        let j = try doctor(as: accounts.member, ["--json"])
        XCTAssertEqual(j.status, 0, j.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["ok"] as? Bool, true)
        XCTAssertEqual(object["version"] as? String, HelperInstallation.version)
        let checks = try XCTUnwrap(object["checks"] as? [[String: Any]])
        XCTAssertEqual(checks.compactMap { $0["name"] as? String },
                       ["helper", "version", "permissions", "capability", "mount", "kernel", "devices", "libpcap", "capture"])
        XCTAssertTrue(checks.allSatisfy { $0["ok"] as? Bool == true }, j.stdout)
    }

    func testOutsiderIsToldWhichGroupToJoin() throws {
        try install()
        let r = try doctor(as: accounts.outsider)
        assertBroken(r, failing: ["permissions"],
                     saying: ["✓ helper: found at \(Install.helperPath(prefix))",
                              "you are not in group \(accounts.group); ask an administrator to run `usermod -aG \(accounts.group) \(accounts.outsider)`"])
        let j = try doctor(as: accounts.outsider, ["--json"])
        XCTAssertEqual(j.status, 1)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["ok"] as? Bool, false)
        let failing = (object["checks"] as? [[String: Any]])?.filter { $0["ok"] as? Bool == false }.compactMap { $0["name"] as? String }
        XCTAssertEqual(failing, ["permissions"])
    }

    func testMissingCapability() throws {
        try install()
        try runChecked(["/usr/sbin/setcap", "-r", Install.helperPath(prefix)])
        assertBroken(try doctor(as: accounts.member), failing: ["capability", "capture"],
                     saying: ["the helper has no file capability", "fix: sudo setcap cap_net_raw=ep \(Install.helperPath(prefix))", "lacks CAP_NET_RAW"])
    }

    func testNosuidMount() throws {
        let mount = try TemporaryMount(options: "suid")
        defer { mount.unmount() }
        prefix = mount.path
        try install()
        try mount.remount(options: "nosuid")
        assertBroken(try doctor(as: accounts.member), failing: ["mount", "capture"],
                     saying: ["✓ capability: file capability cap_net_raw=ep", "mounted nosuid"])
    }

    func testHelperOfAnotherVersion() throws {
        let old = try FakeHelper.make("normal", ["version": 1])
        defer { removeTemporary(old) }
        let r = try doctor(as: accounts.member, environment: ["SWIFTCAP_HELPER": old])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(failed(r).starts(with: ["version"]), r.stdout)
        XCTAssertTrue(failed(r).contains("devices"), r.stdout)
        XCTAssertTrue(r.stdout.contains("protocol version 1"), r.stdout)
    }

    func testNoHelper() throws {
        assertBroken(try doctor(as: accounts.member), failing: ["helper"],
                     saying: ["no swiftcap-helper executable found", "sudo swiftcap install-helper"])
    }
}
