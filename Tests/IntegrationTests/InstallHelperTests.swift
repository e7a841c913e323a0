import Foundation
import Glibc
import TestSupport
import XCTest

/// `swiftcap install-helper` and `uninstall-helper` into temporary prefixes,
/// checked with getcap(8) and stat(2); every refusal leaves the prefix empty.
final class InstallHelperTests: XCTestCase {
    func testInstallWithGroupIsIdempotentAndUninstalls() throws {
        let accounts = try InstallAccounts()
        defer { accounts.remove() }
        let prefix = try makeTemporaryDirectory("sc7-prefix")
        let helper = Install.helperPath(prefix)

        let first = try Install.run(["install-helper", "--prefix", prefix, "--group", accounts.group])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("installed \(helper)"), first.stdout)
        XCTAssertTrue(first.stdout.contains("verified: it answers"), first.stdout)
        XCTAssertTrue(first.stdout.contains("usermod -aG \(accounts.group) USER, then log in again"), first.stdout)
        XCTAssertEqual(try Install.getcap(helper), "cap_net_raw=ep")
        let facts = try XCTUnwrap(FileFacts(helper))
        XCTAssertEqual(facts.mode, 0o750)
        XCTAssertEqual(facts.uid, 0)
        XCTAssertEqual(facts.gid, getgrnam(accounts.group)!.pointee.gr_gid)
        XCTAssertEqual(try runChecked([helper, "--version"]).stdout, try runChecked([try BuiltProducts.cli(), "--version"]).stdout)

        let second = try Install.run(["install-helper", "--prefix", prefix, "--group", accounts.group])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains("unchanged: \(helper) is already installed as asked"), second.stdout)
        XCTAssertEqual(FileFacts(helper), facts, "the second run touched the file")
        XCTAssertEqual(try Install.getcap(helper), "cap_net_raw=ep")

        // The member captures with it; found by the search order (PREFIX/bin/swiftcap → PREFIX/libexec/swiftcap).
        let capture = try Install.captureOnLoopback(prefix: prefix, as: accounts.member)
        XCTAssertEqual(capture.status, 0, capture.stderr)
        XCTAssertTrue(capture.stderr.contains("listening on lo"), capture.stderr)

        let removed = try Install.run(["uninstall-helper", "--prefix", prefix])
        XCTAssertEqual(removed.status, 0, removed.stderr)
        XCTAssertTrue(removed.stdout.contains("removed \(helper)"), removed.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: helper))
        XCTAssertFalse(FileManager.default.fileExists(atPath: prefix + "/libexec/swiftcap"))
        let again = try Install.run(["uninstall-helper", "--prefix", prefix])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("nothing to remove"), again.stdout)
    }

    func testInstallWithoutGroupAndWithMonitorModeAndCreatedGroup() throws {
        let prefix = try makeTemporaryDirectory("sc7-prefix")
        let helper = Install.helperPath(prefix)
        let open = try Install.run(["install-helper", "--prefix", prefix])
        XCTAssertEqual(open.status, 0, open.stderr)
        XCTAssertTrue(open.stdout.contains("every user of this machine can capture"), open.stdout)
        XCTAssertEqual(FileFacts(helper)?.mode, 0o755)
        XCTAssertEqual(FileFacts(helper)?.gid, 0)
        XCTAssertEqual(try Install.getcap(helper), "cap_net_raw=ep")

        // Changing the options is a change: monitor mode adds cap_net_admin, a created group restricts it.
        let group = "sc7new\(getpid() % 100_000)"
        defer { _ = try? runProcess(["/usr/sbin/groupdel", group]) }
        XCTAssertNil(getgrnam(group))
        let monitor = try Install.run(["install-helper", "--prefix", prefix, "--monitor-mode", "--group", group, "--create-group"])
        XCTAssertEqual(monitor.status, 0, monitor.stderr)
        XCTAssertTrue(monitor.stdout.contains("installed \(helper)"), monitor.stdout)
        XCTAssertEqual(try Install.getcap(helper), "cap_net_admin,cap_net_raw=ep")
        let gid = try XCTUnwrap(getgrnam(group)?.pointee.gr_gid, "--create-group did not create \(group)")
        XCTAssertEqual(FileFacts(helper)?.gid, gid)
        XCTAssertEqual(FileFacts(helper)?.mode, 0o750)
        XCTAssertEqual(try Install.run(["uninstall-helper", "--prefix", prefix]).status, 0)
    }

    /// Every refusal: exit status 1, the reason and the fix, nothing installed.
    func testRefusals() throws {
        try requireRoot()
        try UnprivilegedUser.ensure()
        let nosuid = try TemporaryMount(options: "nosuid")
        defer { nosuid.unmount() }
        let prefix = try makeTemporaryDirectory("sc7-prefix")
        let otherVersion = try makeScript("swiftcap-helper", "#!/bin/sh\necho 0.1.9\n")
        defer { removeTemporary(otherVersion) }
        let absentGroup = "sc7absent\(getpid() % 100_000)"

        struct Refusal { var name: String; var arguments: [String]; var user: String?; var environment: [String: String]; var advice: [String]; var status: Int32 }
        let cases = [
            Refusal(name: "not root", arguments: ["install-helper", "--prefix", prefix], user: "swiftcap-test", environment: [:],
                    advice: ["must run as root", "sudo swiftcap install-helper"], status: 1),
            Refusal(name: "uninstall, not root", arguments: ["uninstall-helper", "--prefix", prefix], user: "swiftcap-test", environment: [:],
                    advice: ["must run as root"], status: 1),
            Refusal(name: "nosuid prefix", arguments: ["install-helper", "--prefix", nosuid.path + "/usr"], user: nil, environment: [:],
                    advice: ["mounted nosuid", "ignores file capabilities", "choose a --prefix on another file system"], status: 1),
            Refusal(name: "setcap missing", arguments: ["install-helper", "--prefix", prefix], user: nil, environment: ["PATH": "/sc7-no-such-dir"],
                    advice: ["setcap is not installed", "libcap2-bin"], status: 1),
            Refusal(name: "helper of another version", arguments: ["install-helper", "--prefix", prefix, "--from", otherVersion], user: nil, environment: [:],
                    advice: ["is not a swiftcap-helper of version 0.2.0", "its --version printed \"0.1.9\"", "--from .build/release/swiftcap-helper"], status: 1),
            Refusal(name: "not a helper", arguments: ["install-helper", "--prefix", prefix, "--from", "/usr/bin/false"], user: nil, environment: [:],
                    advice: ["is not a swiftcap-helper", "exited with status 1"], status: 1),
            Refusal(name: "missing --from", arguments: ["install-helper", "--prefix", prefix, "--from", prefix + "/nothing"], user: nil, environment: [:],
                    advice: ["does not exist", "swift build -c release"], status: 1),
            Refusal(name: "relative prefix", arguments: ["install-helper", "--prefix", "usr/local"], user: nil, environment: [:],
                    advice: ["not an absolute path"], status: 1),
            Refusal(name: "absent group", arguments: ["install-helper", "--prefix", prefix, "--group", absentGroup], user: nil, environment: [:],
                    advice: ["group \(absentGroup) does not exist", "--create-group"], status: 1),
            Refusal(name: "--create-group alone", arguments: ["install-helper", "--prefix", prefix, "--create-group"], user: nil, environment: [:],
                    advice: ["--create-group needs --group NAME"], status: 64),
        ]
        for c in cases {
            let r = try Install.run(c.arguments, as: c.user, environment: c.environment)
            XCTAssertEqual(r.status, c.status, "\(c.name): \(r.stderr)")
            for a in c.advice { XCTAssertTrue(r.stderr.contains(a), "\(c.name): lacks \"\(a)\": \(r.stderr)") }
            XCTAssertFalse(r.stderr.contains("Fatal error"), "\(c.name): crashed")
        }
        for dir in [prefix, nosuid.path] {
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "a refusal left files in \(dir)")
        }
        XCTAssertNil(getgrnam(absentGroup), "a refusal created a group")
    }

    /// One version string for both programs; by hand on a terminal the helper
    /// prints its usage instead of binary frames (script(1) gives it a pty).
    func testVersionsMatchAndTheHelperOnATerminalPrintsUsage() throws {
        let helper = try BuiltProducts.helper()
        let cliVersion = try runChecked([try BuiltProducts.cli(), "--version"]).stdout
        XCTAssertEqual(try runChecked([helper, "--version"]).stdout, cliVersion)
        XCTAssertTrue(cliVersion.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil, cliVersion)

        let onTerminal = try runProcess(["/usr/bin/script", "-qec", helper, "/dev/null"], timeout: 15)
        XCTAssertEqual(onTerminal.status, 2, onTerminal.stdout)
        XCTAssertTrue(onTerminal.stdout.contains("usage: swiftcap-helper [--keep-net-admin]") && onTerminal.stdout.contains("| --version"), onTerminal.stdout)
        XCTAssertFalse(onTerminal.stdout.contains("libpcap version"), "a hello frame reached the terminal: \(onTerminal.stdout)")
    }
}
