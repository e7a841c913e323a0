import Foundation
import Glibc
@_spi(Testing) import PacketCapture
import SwiftcapWire
import TestSupport
import XCTest

/// Capture through the ssh transport (issue 12), against a real sshd on
/// 127.0.0.1 that the test starts: the remote side is the unprivileged user
/// `swiftcap-remote` running a setcap'd copy of the helper. Traffic goes only
/// to 127.0.0.1.
///
/// Failures tried:
///
/// | what happens                         | expected                                              |
/// |--------------------------------------|-------------------------------------------------------|
/// | ssh killed while capturing           | .remoteConnectionFailed naming the host, no helper left |
/// | ssh stopped (a stalled network)      | the request's deadline: .timedOut, no helper left     |
/// | remote helper killed                 | the capture ends with a typed error, nothing left     |
/// | wrong host key                       | .remoteConnectionFailed "Host key verification failed" |
/// | key the server does not accept       | .remoteConnectionFailed "Permission denied"           |
/// | no helper at the remote path         | .helperNotFound naming the host and install-helper    |
/// | bad host/user/port/path in the API   | .invalidArgument before ssh runs                      |
final class RemoteCaptureTests: XCTestCase {
    private var server: TestSSHServer!
    private var helper: String!

    override func setUpWithError() throws {
        server = try TestSSHServer()
        helper = try makeSetcapCopy(of: try BuiltProducts.helper())
    }

    override func tearDown() {
        server?.stop()
        if let helper { removeTemporary(helper) }
        killRemoteHelpers()
    }

    private func destination(_ configure: (inout SSHDestination) -> Void = { _ in }) -> SSHDestination {
        var d = SSHDestination(host: "127.0.0.1", user: server.user, port: server.port, identityFile: server.clientKey,
                               extraArguments: server.clientArguments, helperPath: helper)
        configure(&d)
        return d
    }

    private func options(_ configure: (inout CaptureOptions) -> Void = { _ in }) -> CaptureOptions {
        var o = CaptureOptions()
        o.transport = .ssh(destination())
        o.timeout = .immediate
        configure(&o)
        return o
    }

    /// Helpers of the remote user still running.
    private func remoteHelpers() -> [Int32] {
        guard let uid = getpwnam(server?.user ?? "swiftcap-remote")?.pointee.pw_uid else { return [] }
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { Int32($0) } ?? []
        return pids.filter { pid in
            guard let status = try? ProcFS.status(of: pid), status["Name"] == "swiftcap-helper",
                  let owner = status["Uid"]?.split(separator: "\t").first else { return false }
            return owner == "\(uid)" && !processIsDead(pid)
        }
    }

    private func killRemoteHelpers() {
        for pid in remoteHelpers() { kill(pid, SIGKILL) }
    }

    func testCaptureWithFiltersInjectAndStatisticsOverSSH() async throws {
        let first = LoopbackTraffic.freePort(), second = LoopbackTraffic.freePort()
        let capture = try await LiveCapture.open(interface: "lo", options: options { $0.filter = "udp port \(first)" })
        // The remote helper is the unprivileged user's setcap'd copy, locked down like a local one.
        let remote = try XCTUnwrap(waitUntil(timeout: 5) { !self.remoteHelpers().isEmpty } != nil ? remoteHelpers().first : nil,
                                   "no remote helper process")
        let status = try ProcFS.status(of: remote)
        XCTAssertEqual(status["CapEff"], "0000000000000000")
        XCTAssertEqual(status["Seccomp"], "2")

        try sendMarkers(["r1", "r2", "r3"], port: first)
        var packets = try await collect(capture, seconds: 5) { ps in ["r1", "r2", "r3"].allSatisfy { seen($0, in: ps) } }
        XCTAssertTrue(["r1", "r2", "r3"].allSatisfy { seen($0, in: packets) }, "\(packets.count) packets")

        try await capture.setFilter("udp port \(second)")
        try sendMarkers(["old"], port: first)
        try sendMarkers(["new"], port: second)
        packets = try await collect(capture, seconds: 5) { seen("new", in: $0) }
        XCTAssertTrue(seen("new", in: packets))
        XCTAssertFalse(seen("old", in: packets), "setFilter over ssh did not replace the filter")

        // inject: an Ethernet frame to 127.0.0.1:second, captured on the way out.
        let frame = Self.udpFrame(to: second, payload: Array("injected-over-ssh".utf8))
        let written = try await capture.inject(frame)
        XCTAssertEqual(written, frame.count)
        packets = try await collect(capture, seconds: 5) { seen("injected-over-ssh", in: $0) }
        XCTAssertTrue(seen("injected-over-ssh", in: packets))

        let stats = try await capture.statistics()
        XCTAssertGreaterThanOrEqual(stats.received, 2)
        await capture.close()
        XCTAssertNotNil(waitUntil(timeout: 5) { self.remoteHelpers().isEmpty }, "the remote helper outlived close()")
    }

    func testDevicesOverSSH() async throws {
        let devices = try await NetworkDevice.all(transport: .ssh(destination()))
        XCTAssertTrue(devices.contains { $0.name == "lo" }, "\(devices.map(\.name))")
    }

    func testTheSSHSessionsOwnPacketsAreLeftOut() async throws {
        // No filter at all: only the exclusion applies. Packets flow over the
        // session (the capture's own stream) while we wait.
        let port = LoopbackTraffic.freePort()
        var capture = try await LiveCapture.open(interface: "lo", options: options())
        try sendMarkers(["x1", "x2"], port: port)
        var packets = try await collect(capture, seconds: 2) { seen("x2", in: $0) }
        XCTAssertTrue(seen("x2", in: packets), "other traffic is still captured")
        XCTAssertFalse(packets.contains { Self.tcpPorts(of: $0).contains(UInt16(server.port)) },
                       "the session's own TCP packets were captured")
        await capture.close()

        // Opting out shows them (the capture then carries itself: bounded by time).
        capture = try await LiveCapture.open(interface: "lo", options: options { o in
            o.transport = .ssh(self.destination { $0.excludesOwnConnection = false })
        })
        try sendMarkers(["y1"], port: port)
        packets = try await collect(capture, seconds: 2) { ps in ps.contains { Self.tcpPorts(of: $0).contains(UInt16(self.server.port)) } }
        XCTAssertTrue(packets.contains { Self.tcpPorts(of: $0).contains(UInt16(server.port)) },
                      "with excludesOwnConnection off, the session's packets should appear")
        await capture.close()
    }

    func testKillingSSHOrTheRemoteHelperEndsTheCaptureWithATypedError() async throws {
        // ssh killed.
        var capture = try await LiveCapture.open(interface: "lo", options: options())
        let ssh = try XCTUnwrap(ProcFS.children(of: getpid()).first { pid in
            (try? ProcFS.status(of: pid))?["Name"] == "ssh"
        }, "no ssh child of the client")
        XCTAssertEqual(ssh, capture.helperProcessID)
        kill(ssh, SIGKILL)
        var (_, error) = await drainUntilError(capture)
        var e = try XCTUnwrap(error)
        XCTAssertEqual(e.code, .remoteConnectionFailed, e.message)
        XCTAssertTrue(e.message.contains("swiftcap-remote@127.0.0.1"), e.message)
        XCTAssertNotNil(waitUntil(timeout: 10) { self.remoteHelpers().isEmpty }, "the remote helper outlived its ssh")
        await capture.close()

        // The remote helper killed.
        capture = try await LiveCapture.open(interface: "lo", options: options())
        let remote = try XCTUnwrap(waitUntil(timeout: 5) { !self.remoteHelpers().isEmpty } != nil ? remoteHelpers().first : nil)
        kill(remote, SIGKILL)
        (_, error) = await drainUntilError(capture)
        e = try XCTUnwrap(error)
        XCTAssertTrue([.remoteConnectionFailed, .helperTerminated].contains(e.code), e.description)
        XCTAssertTrue(e.message.contains("127.0.0.1"), e.message)
        XCTAssertNotNil(waitUntil(timeout: 5) { processIsDead(capture.helperProcessID) }, "ssh outlived the remote helper")
        await capture.close()
    }

    func testAStalledConnectionTripsTheRequestDeadline() async throws {
        let capture = try await LiveCapture.open(interface: "lo", options: options { $0.requestTimeout = .seconds(1) })
        // A stopped ssh is what a dead network looks like from here: nothing moves.
        kill(capture.helperProcessID, SIGSTOP)
        _ = await expectCaptureError(.timedOut, advice: ["statistics request", "CaptureOptions.requestTimeout"]) {
            try await capture.statistics()
        }
        XCTAssertNotNil(waitUntil(timeout: 10) { self.remoteHelpers().isEmpty }, "the remote helper outlived the stalled session")
        await capture.close()
    }

    func testConnectionAndInstallationFailuresAreTyped() async throws {
        let wrongHost = try server.makeWrongKnownHosts()
        let stranger = try server.makeUnauthorizedKey()
        let cases: [(String, CaptureError.Code, [String], (inout SSHDestination) -> Void)] = [
            ("wrong host key", .remoteConnectionFailed, ["swiftcap-remote@127.0.0.1", "Host key verification failed"], {
                $0.extraArguments = ["-F", "/dev/null", "-o", "UserKnownHostsFile=\(wrongHost)", "-o", "StrictHostKeyChecking=yes"]
            }),
            ("refused key", .remoteConnectionFailed, ["Permission denied", "BatchMode"], { $0.identityFile = stranger }),
            ("nothing listening", .remoteConnectionFailed, ["Connection refused"], { $0.port = Int(LoopbackTraffic.freePort()) }),
            ("no remote helper", .helperNotFound, ["/nonexistent/swiftcap-helper", "install-helper"], { $0.helperPath = "/nonexistent/swiftcap-helper" }),
            ("host like an option", .invalidArgument, ["-oProxyCommand"], { $0.host = "-oProxyCommand=sh" }),
            ("relative remote path", .invalidArgument, ["absolute path"], { $0.helperPath = "swiftcap-helper" }),
            ("port 0", .invalidArgument, ["1...65535"], { $0.port = 0 }),
        ]
        for (name, code, advice, configure) in cases {
            let d = destination(configure)
            let e = await expectCaptureError(code, advice: advice) {
                try await LiveCapture.open(interface: "lo", options: CaptureOptions(timeout: .immediate).with { $0.transport = .ssh(d) })
            }
            XCTAssertNotNil(e, name)
        }
    }

    // MARK: The CLI

    /// The CLI's ssh flags for the test server.
    private var cliSSHArguments: [String] {
        ["--ssh-port", "\(server.port)", "--ssh-identity", server.clientKey, "--ssh-config", "/dev/null",
         "--ssh-option", "UserKnownHostsFile=\(server.knownHosts)", "--ssh-option", "StrictHostKeyChecking=yes",
         "--remote-helper", helper]
    }

    func testCLIMergesARemoteAndALocalInterfaceIntoOnePcapng() throws {
        let port = LoopbackTraffic.freePort()
        let dir = try makeTemporaryDirectory("swiftcap-remote-cli")
        defer { removeTemporary(dir) }
        let file = dir + "/merged.pcapng"
        let remoteName = "\(server.user)@127.0.0.1:lo"
        let cli = try ChildProcess([try BuiltProducts.cli(), "capture", "-i", "lo", "-i", remoteName, "--helper", try BuiltProducts.helper(),
                                    "--immediate-mode", "-c", "6", "--duration", "20", "-w", file] + cliSSHArguments + ["udp", "port", "\(port)"])
        XCTAssertTrue(cli.waitForStderr(timeout: 15) { $0.components(separatedBy: "listening on").count == 3 }, cli.stderr)
        try sendMarkers(["m1", "m2", "m3"], port: port)
        let result = cli.wait(timeout: 30)
        XCTAssertEqual(result.status, 0, result.stderr)
        let tshark = try runProcess(["/usr/bin/tshark", "-r", file, "-T", "fields", "-e", "frame.interface_name", "-e", "udp.dstport"])
        XCTAssertEqual(tshark.status, 0, tshark.stderr)
        let rows = tshark.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(rows.count, 6, tshark.stdout)
        XCTAssertEqual(rows.filter { $0.first == "lo" }.count, 3, tshark.stdout)
        XCTAssertEqual(rows.filter { $0.first == remoteName }.count, 3, "the remote interface keeps its host:iface name: \(tshark.stdout)")
        XCTAssertTrue(rows.allSatisfy { $0.last == "\(port)" }, tshark.stdout)
    }

    func testCLIDevicesOnARemoteHost() throws {
        let r = try runProcess([try BuiltProducts.cli(), "devices", "--remote", "\(server.user)@127.0.0.1"] + cliSSHArguments)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(".lo"), r.stdout)
    }

    func testKillingTheClientLeavesNothingOnEitherSide() throws {
        let cli = try ChildProcess([try BuiltProducts.cli(), "capture", "-i", "\(server.user)@127.0.0.1:lo", "--count", "--duration", "60"]
            + cliSSHArguments)
        XCTAssertTrue(cli.waitForStderr(timeout: 15) { $0.contains("listening on") }, cli.stderr)
        XCTAssertFalse(remoteHelpers().isEmpty, "no remote helper while the CLI captures")
        let ssh = ProcFS.children(of: cli.pid).filter { (try? ProcFS.status(of: $0))?["Name"] == "ssh" }
        XCTAssertEqual(ssh.count, 1, "the CLI's ssh")
        cli.send(SIGKILL)
        cli.wait(timeout: 10)
        XCTAssertNotNil(waitUntil(timeout: 10) { ssh.allSatisfy(processIsDead) }, "ssh outlived its client")
        XCTAssertNotNil(waitUntil(timeout: 10) { self.remoteHelpers().isEmpty }, "the remote helper outlived the client")
    }

    // MARK: Packets

    /// Ethernet (zero MACs, as lo uses) + IPv4 + UDP from 127.0.0.1:9 to 127.0.0.1:`port`.
    static func udpFrame(to port: UInt16, payload: [UInt8]) -> [UInt8] {
        var ip: [UInt8] = [0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]
        let total = UInt16(20 + 8 + payload.count)
        ip[2] = UInt8(total >> 8); ip[3] = UInt8(total & 0xFF)
        var sum: UInt32 = 0
        for i in stride(from: 0, to: 20, by: 2) { sum += UInt32(ip[i]) << 8 | UInt32(ip[i + 1]) }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        ip[10] = UInt8(checksum >> 8); ip[11] = UInt8(checksum & 0xFF)
        let udp: [UInt8] = [0, 9, UInt8(port >> 8), UInt8(port & 0xFF), UInt8((8 + payload.count) >> 8), UInt8((8 + payload.count) & 0xFF), 0, 0]
        return [UInt8](repeating: 0, count: 12) + [0x08, 0x00] + ip + udp + payload
    }

    /// The TCP ports of an Ethernet/IPv4/TCP packet, or none.
    static func tcpPorts(of packet: Packet) -> [UInt16] {
        let b = Array(packet.bytes)
        guard b.count >= 14 + 20 + 4, b[12] == 0x08, b[13] == 0x00, b[14 + 9] == 6 else { return [] }
        let ihl = Int(b[14] & 0x0F) * 4
        guard b.count >= 14 + ihl + 4 else { return [] }
        let t = 14 + ihl
        return [UInt16(b[t]) << 8 | UInt16(b[t + 1]), UInt16(b[t + 2]) << 8 | UInt16(b[t + 3])]
    }
}

extension CaptureOptions {
    func with(_ change: (inout CaptureOptions) -> Void) -> CaptureOptions {
        var copy = self
        change(&copy)
        return copy
    }
}
