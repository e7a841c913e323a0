import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

/// packaging/deb/build, then the package on this machine: dpkg -i into the real
/// /usr, getcap/mode/group of the helper, a capture on lo by a member of the
/// package's group, the "not in group" error for anyone else, then dpkg --purge
/// and a check that nothing it installed or created is left.
final class PackageDebianTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let helper = "/usr/libexec/swiftcap/swiftcap-helper"

    private func isInstalled() throws -> Bool {
        try runProcess(["/usr/bin/dpkg-query", "-W", "-f=${Status}", "swiftcap"]).stdout.contains("install ok installed")
    }

    func testDebianPackageRoundTrip() throws {
        try requireRoot("it installs and purges a Debian package")
        guard try !isInstalled() else {
            return XCTFail("a swiftcap package is already installed on this machine; this test installs and purges its own, so remove it first (dpkg --purge swiftcap)")
        }
        let id = getpid() % 100_000
        let group = "sc7pcap\(id)", member = "sc7debin\(id)", outsider = "sc7debout\(id)"
        XCTAssertNil(getgrnam(group))

        // Build from the products of this test run (a release build would take minutes).
        let out = try makeTemporaryDirectory("sc7-deb")
        let built = try runProcess([Self.packageRoot + "/packaging/deb/build", "--binaries", BuiltProducts.directory, "--output", out], timeout: 300)
        XCTAssertEqual(built.status, 0, built.stderr)
        let deb = built.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual((deb as NSString).lastPathComponent, "swiftcap_\(HelperInstallation.version)_\(try runChecked(["/usr/bin/dpkg", "--print-architecture"]).stdout.trimmingCharacters(in: .newlines)).deb")

        let install = try runProcess(["/usr/bin/dpkg", "-i", deb], environment: ["SWIFTCAP_GROUP": group], timeout: 120)
        var files: [String] = []
        defer {
            _ = try? runProcess(["/usr/bin/dpkg", "--purge", "swiftcap"], timeout: 120)
            for user in [member, outsider] where getpwnam(user) != nil { _ = try? runProcess(["/usr/sbin/userdel", user]) }
            if getgrnam(group) != nil { _ = try? runProcess(["/usr/sbin/groupdel", group]) }
        }
        XCTAssertEqual(install.status, 0, install.stdout + install.stderr)
        XCTAssertTrue(install.stdout.contains("members of group \(group) can capture"), install.stdout)
        files = try runChecked(["/usr/bin/dpkg", "-L", "swiftcap"]).stdout.split(separator: "\n").map(String.init)
        for expected in ["/usr/bin/swiftcap", Self.helper, "/usr/share/man/man1/swiftcap.1.gz",
                         "/usr/share/bash-completion/completions/swiftcap", "/usr/share/zsh/vendor-completions/_swiftcap",
                         "/usr/share/fish/vendor_completions.d/swiftcap.fish"] {
            XCTAssertTrue(files.contains(expected), "the package lacks \(expected)")
        }
        XCTAssertEqual(try Install.getcap(Self.helper), "cap_net_raw=ep")
        let gid = try XCTUnwrap(getgrnam(group)?.pointee.gr_gid, "postinst did not create group \(group)")
        let facts = try XCTUnwrap(FileFacts(Self.helper))
        XCTAssertEqual(facts.mode, 0o750)
        XCTAssertEqual(facts.uid, 0)
        XCTAssertEqual(facts.gid, gid)
        XCTAssertEqual(try runChecked(["/usr/bin/swiftcap", "--version"]).stdout, "\(HelperInstallation.version)\n")
        let manual = try runChecked(["/bin/sh", "-c", "gzip -dc /usr/share/man/man1/swiftcap.1.gz"]).stdout
        XCTAssertTrue(manual.contains(".Nm swiftcap") && manual.contains("install-helper") && manual.contains("doctor"), manual)

        try runChecked(["/usr/sbin/useradd", "-r", "-M", "-s", "/usr/sbin/nologin", "-G", group, member])
        try runChecked(["/usr/sbin/useradd", "-r", "-M", "-s", "/usr/sbin/nologin", outsider])
        // /usr/bin/swiftcap finds /usr/libexec/swiftcap by the search order alone.
        let environment = ["SWIFTCAP_HELPER": "", "SWIFTCAP_HELPER_PREFIXES": "/usr"]

        let port = LoopbackTraffic.freePort()
        let capture = try ChildProcess(["/usr/bin/swiftcap", "capture", "-i", "lo", "-c", "2", "--count", "--duration", "10",
                                        "udp", "port", "\(port)"], as: member, environment: environment)
        XCTAssertTrue(capture.waitForStderr(timeout: 10) { $0.contains("listening on lo") }, capture.stderr)
        _ = try LoopbackTraffic.sendUDP(port: port, payload: LoopbackTraffic.payload("sc7-deb"), count: 4, interval: 0.05)
        let captured = capture.wait(timeout: 15)
        XCTAssertEqual(captured.status, 0, captured.stderr)
        XCTAssertEqual(captured.stdout, "2\n")

        let refused = try runProcess(["/usr/bin/swiftcap", "capture", "-i", "lo", "-c", "1"], as: outsider, environment: environment, timeout: 20)
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("the helper at \(Self.helper) is not executable by you (mode 0750, owner root, group \(group)): you are not in group \(group); ask an administrator to run `usermod -aG \(group) \(outsider)`"), refused.stderr)

        let purge = try runProcess(["/usr/bin/dpkg", "--purge", "swiftcap"], timeout: 120)
        XCTAssertEqual(purge.status, 0, purge.stdout + purge.stderr)
        XCTAssertFalse(try isInstalled())
        XCTAssertNil(getgrnam(group), "postrm left group \(group)")
        // Shared directories (/usr/bin, /usr/share/man...) stay; everything of ours goes.
        XCTAssertGreaterThan(files.filter { $0.contains("swiftcap") }.count, 8)
        for path in files + ["/var/lib/swiftcap"] where path.contains("swiftcap") {
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), "\(path) is left after purge")
        }
    }
}
