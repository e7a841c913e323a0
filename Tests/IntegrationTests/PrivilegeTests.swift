import Foundation
import Glibc
@_spi(Testing) import PacketCapture
import TestSupport
import XCTest

/// After `open`, the helper holds nothing: no capability in any set,
/// no_new_privs, seccomp filter mode. Checked with the client as root and as an
/// unprivileged user running the CLI with a setcap'd copy of the helper.
final class PrivilegeTests: XCTestCase {
    static let user = "swiftcap-test"

    private func assertLockedDown(_ pid: Int32, _ who: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let status = try ProcFS.status(of: pid)
        for key in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
            XCTAssertEqual(status[key], "0000000000000000", "\(who): helper \(key)", file: file, line: line)
        }
        XCTAssertEqual(status["NoNewPrivs"], "1", "\(who): NoNewPrivs", file: file, line: line)
        XCTAssertEqual(status["Seccomp"], "2", "\(who): Seccomp (2 = filter)", file: file, line: line)
        let uid = status["Uid"]?.split(separator: "\t").first.map(String.init)
        XCTAssertNotEqual(uid, "0", "\(who): helper still runs as root", file: file, line: line)
    }

    func testHelperOfARootClientHoldsNothingAfterOpen() async throws {
        try requireRoot()
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions())
        try assertLockedDown(capture.helperProcessID, "root client")
        // The client keeps its own privileges; only the helper sheds them.
        let mine = try ProcFS.status(of: getpid())
        XCTAssertNotEqual(mine["CapEff"], "0000000000000000")
        await capture.close()
    }

    /// The CLI as an unprivileged user with a setcap'd copy of the helper.
    func testUnprivilegedUserCapturesWithSetcapHelper() throws {
        try requireRoot("it creates a user and a setcap'd copy of the helper")
        try UnprivilegedUser.ensure(Self.user)
        let helper = try makeSetcapCopy(of: try BuiltProducts.helper())
        defer { removeTemporary(helper) }
        let getcap = try runChecked(["/usr/sbin/getcap", helper])
        XCTAssertTrue(getcap.stdout.contains("cap_net_raw=ep"), getcap.stdout)

        let port = LoopbackTraffic.freePort()
        let cli = try ChildProcess([try BuiltProducts.cli(), "capture", "-i", "lo", "-c", "3", "--count",
                                    "--helper", helper, "udp", "port", "\(port)"], as: Self.user)
        XCTAssertTrue(cli.waitForStderr(timeout: 10) { $0.contains("listening on lo") }, "CLI as \(Self.user): \(cli.stderr)")
        // runuser forks the CLI, which spawns the helper.
        let cliPID = try XCTUnwrap(child(of: cli.pid, named: "swiftcap"), "no CLI under runuser")
        let helperPID = try XCTUnwrap(child(of: cliPID, named: "swiftcap-helper"), "no helper under the CLI")
        try assertLockedDown(helperPID, "unprivileged client")
        // The CLI itself runs as the user with no capability.
        let status = try ProcFS.status(of: cliPID)
        XCTAssertEqual(status["CapEff"], "0000000000000000")
        XCTAssertEqual(status["Uid"]?.split(separator: "\t").first.map(String.init), String(getpwnam(Self.user)!.pointee.pw_uid))
        try sendMarkers(["u1", "u2", "u3"], port: port)
        let result = cli.wait(timeout: 10)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "3\n")
        XCTAssertTrue(result.stderr.contains("3 packets captured"), result.stderr)
    }

    /// Same user, copy without setcap: a typed permission error that says to setcap.
    func testUnprivilegedUserWithoutSetcapGetsAdvice() throws {
        try requireRoot("it creates a user and a copy of the helper")
        try UnprivilegedUser.ensure(Self.user)
        let helper = try makeCopy(of: try BuiltProducts.helper())
        defer { removeTemporary(helper) }
        let result = try runProcess([try BuiltProducts.cli(), "capture", "-i", "lo", "-c", "1", "--helper", helper], as: Self.user, timeout: 15)
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("lacks CAP_NET_RAW"), result.stderr)
        XCTAssertTrue(result.stderr.contains("sudo setcap cap_net_raw=ep \(helper)"), result.stderr)
        XCTAssertFalse(result.stderr.contains("Fatal error"), "the CLI crashed: \(result.stderr)")
    }
}
