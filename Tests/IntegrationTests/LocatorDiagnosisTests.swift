import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

/// Each thing the locator tells apart, seen by a user in the helper's group and
/// one outside it, through the CLI found under a temporary prefix (installed
/// helpers on the machine are kept out with SWIFTCAP_HELPER_PREFIXES).
final class LocatorDiagnosisTests: XCTestCase {
    private var accounts: InstallAccounts!
    private var prefix = ""
    private var helper: String { Install.helperPath(prefix) }

    override func setUpWithError() throws {
        accounts = try InstallAccounts()
        prefix = try makeTemporaryDirectory("sc7-prefix")
    }

    override func tearDown() {
        accounts?.remove()
    }

    private func install(_ extra: [String] = []) throws {
        let r = try Install.run(["install-helper", "--prefix", prefix, "--group", accounts.group] + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    private func assertCaptureFails(as user: String, _ advice: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try Install.captureOnLoopback(prefix: prefix, as: user)
        XCTAssertEqual(r.status, 1, r.stderr, file: file, line: line)
        for a in advice { XCTAssertTrue(r.stderr.contains(a), "lacks \"\(a)\": \(r.stderr)", file: file, line: line) }
    }

    func testNotFoundListsThePlacesTriedAndTheInstallCommand() throws {
        let cli = try Install.cliUnder(prefix)
        let r = try runProcess([cli, "capture", "-i", "lo", "-c", "1"], as: accounts.member, environment: Install.isolated(prefix), timeout: 20)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("no swiftcap-helper executable found (tried \(prefix)/bin/swiftcap-helper, \(helper), \(prefix)/no-such-prefix/libexec/swiftcap/swiftcap-helper)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("sudo swiftcap install-helper"), r.stderr)
    }

    func testMemberCapturesAndOutsiderIsToldWhichGroupToJoin() throws {
        try install()
        let member = try Install.captureOnLoopback(prefix: prefix, as: accounts.member)
        XCTAssertEqual(member.status, 0, member.stderr)
        XCTAssertTrue(member.stderr.contains("listening on lo"), member.stderr)
        try assertCaptureFails(as: accounts.outsider, [
            "the helper at \(helper) is not executable by you (mode 0750, owner root, group \(accounts.group))",
            "you are not in group \(accounts.group); ask an administrator to run `usermod -aG \(accounts.group) \(accounts.outsider)`, then log in again",
        ])
    }

    func testHelperWithoutCapabilityGetsTheSetcapAndInstallCommands() throws {
        try install()
        try runChecked(["/usr/sbin/setcap", "-r", helper])
        XCTAssertEqual(try Install.getcap(helper), "")
        try assertCaptureFails(as: accounts.member, [
            "lacks CAP_NET_RAW", "it has no file capability",
            "sudo setcap cap_net_raw=ep \(helper)", "sudo swiftcap install-helper --prefix \(prefix)",
        ])
        // Outside the group, what stops you first is the group.
        try assertCaptureFails(as: accounts.outsider, ["you are not in group \(accounts.group)"])
    }

    func testCapabilityOnANosuidMountIsReportedAsIgnored() throws {
        let mount = try TemporaryMount(options: "suid")
        defer { mount.unmount() }
        prefix = mount.path
        try install()
        try mount.remount(options: "nosuid")
        XCTAssertEqual(try Install.getcap(helper), "cap_net_raw=ep", "the capability is still on the file")
        try assertCaptureFails(as: accounts.member, [
            "lacks CAP_NET_RAW", "it has cap_net_raw=ep, but its file system is mounted nosuid",
            "the kernel ignores file capabilities",
        ])
    }

    func testHelperOfAnotherVersionNamesBothVersionsAndHowToReinstall() throws {
        let old = try FakeHelper.make("normal", ["version": 1])
        defer { removeTemporary(old) }
        let cli = try Install.cliUnder(prefix)
        let r = try runProcess([cli, "capture", "-i", "lo", "-c", "1"], as: accounts.member,
                               environment: ["SWIFTCAP_HELPER": old], timeout: 20)
        XCTAssertEqual(r.status, 1, r.stderr)
        for a in ["the helper at \(old) is an older swiftcap (before \(HelperInstallation.version)), protocol version 1",
                  "this client is swiftcap \(HelperInstallation.version), protocol version 2",
                  "reinstall the helper", "install-helper"] {
            XCTAssertTrue(r.stderr.contains(a), "lacks \"\(a)\": \(r.stderr)")
        }
    }

    /// The public inspection API agrees with stat(1) and getcap(8).
    func testHelperFileStatusAgreesWithTheTools() throws {
        try install(["--monitor-mode"])
        let status = HelperFileStatus.inspect(helper)
        XCTAssertEqual(String(describing: try XCTUnwrap(status.capabilities)), try Install.getcap(helper))
        let statOutput = try runChecked(["/usr/bin/stat", "-c", "%a %U %G", helper]).stdout.trimmingCharacters(in: .newlines)
        XCTAssertEqual("\(String(status.mode, radix: 8)) \(status.ownerName) \(status.groupName)", statOutput)
        XCTAssertTrue(status.hasCaptureCapability)
        XCTAssertFalse(status.onNosuidMount)
        XCTAssertNil(status.executionProblem, "root may run it")
    }
}
