import Foundation
import Glibc
@_spi(Testing) import PacketCapture
import SwiftcapWire
import TestSupport
import XCTest

/// The helper before its lock-down, attacked as an unprivileged user running
/// the setcap'd helper would attack it (issue 6, items 1-5). Requests go to
/// the helper raw (RawHelper), past the client library's own checks, so each
/// test shows what the helper itself refuses.
///
/// Attacks tried:
///
/// | vector      | input                                                          | expected                          |
/// |-------------|----------------------------------------------------------------|-----------------------------------|
/// | device      | dbus://unixexec:path=/usr/bin/touch,... (runs a program)      | unsupported, nothing runs         |
/// | device      | dbus-session / dbus-system with DBUS_*_BUS_ADDRESS=unixexec:  | unsupported, nothing runs         |
/// | device      | dbus://unix:path=..., dbus://tcp:host=127.0.0.1,port=1        | unsupported                       |
/// | device      | bluetooth0, bluetooth-monitor, usbmon0, nflog, nfqueue:3       | unsupported                       |
/// | device      | "", 16 bytes, a/b, lo:1, "lo\n", ".."                          | noSuchDevice                      |
/// | device      | nosuchif0 (valid but absent)                                   | noSuchDevice                      |
/// | device      | every row above through describeDevice (tcpdump -L) as well    | the same error, nothing runs      |
/// | environment | DBUS_SESSION_BUS_ADDRESS, LD_PRELOAD-free vars, LOCALDOMAIN... | empty after step 1                |
/// | filter      | host and port names at open                                    | resolved with no capability held  |
/// | filter      | 16 KB chain of `or`ed ports at open, setFilter, compile        | filterTooComplex within budget    |
/// | option      | bufferSize 4 GiB - 1, 1 GiB + 1                                | badRequest / invalidArgument      |
/// | stderr      | 3000 diagnostics to a stderr nobody reads                      | every request still answered      |
final class PrivilegeBoundaryTests: XCTestCase {
    static let user = "swiftcap-test"

    /// A directory the test user can write to, for marker files that an
    /// attack would create.
    private func writableDirectory() throws -> String {
        let dir = try makeTemporaryDirectory("swiftcap-attack")
        chmod(dir, 0o1777)
        return dir
    }

    func testDeviceStringsThatAreNotInterfacesNeverReachLibpcap() throws {
        try requireRoot("it creates a user and a setcap'd copy of the helper")
        try UnprivilegedUser.ensure(Self.user)
        let helper = try makeSetcapCopy(of: try BuiltProducts.helper())
        defer { removeTemporary(helper) }
        let dir = try writableDirectory()
        let marker = dir + "/executed"
        let exec = "unixexec:path=/usr/bin/touch,argv0=touch,argv1=\(marker)"
        let environment = ["DBUS_SESSION_BUS_ADDRESS": exec, "DBUS_SYSTEM_BUS_ADDRESS": exec]

        let cases: [(device: String, code: WireErrorCode, says: String)] = [
            ("dbus://\(exec)", .unsupported, "D-Bus"),
            ("dbus-session", .unsupported, "D-Bus"),
            ("dbus-system", .unsupported, "D-Bus"),
            ("dbus://unix:path=/run/dbus/system_bus_socket", .unsupported, "D-Bus"),
            ("dbus://tcp:host=127.0.0.1,port=1", .unsupported, "D-Bus"),
            ("bluetooth0", .unsupported, "Bluetooth"),
            ("bluetooth-monitor", .unsupported, "Bluetooth"),
            ("usbmon0", .unsupported, "USB"),
            ("nflog", .unsupported, "netfilter log"),
            ("nfqueue:3", .unsupported, "netfilter queue"),
            ("", .noSuchDevice, "empty device name"),
            (String(repeating: "x", count: 16), .noSuchDevice, "at most 15"),
            ("a/b", .noSuchDevice, "not a valid interface name"),
            ("lo:1", .noSuchDevice, "not a valid interface name"),
            ("lo\n", .noSuchDevice, "not a valid interface name"),
            ("..", .noSuchDevice, "not a valid interface name"),
            ("nosuchif0", .noSuchDevice, "no network interface named"),
        ]
        for c in cases {
            let outcome = try RawHelper.run(helper, [.open(OpenRequest(device: c.device))], as: Self.user, environment: environment)
            let error = try XCTUnwrap(outcome.error, "\(c.device): no error frame; frames \(outcome.frames)")
            XCTAssertEqual(error.code, c.code, "\(c.device): \(error.message)")
            XCTAssertTrue(error.fatal, c.device)
            XCTAssertTrue(error.message.contains(c.says), "\(c.device): \(error.message)")
            XCTAssertFalse(outcome.frames.contains { if case .ready = $0 { true } else { false } }, "\(c.device) was opened")
            XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "\(c.device): the helper ran a program")
            // describeDevice (tcpdump -L) activates an interface too: the same check.
            let described = try RawHelper.run(helper, [.describeDevice(c.device)], as: Self.user, environment: environment)
            XCTAssertEqual(described.error?.code, c.code, "describeDevice \(c.device): \(described.frames)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "describeDevice \(c.device): the helper ran a program")
        }

        // The CLI as the issue's reproduction ran it, and the library as root.
        let cli = try runProcess([try BuiltProducts.cli(), "capture", "--time-stamp-precision", "micro", "-c", "1",
                                  "--helper", helper, "-i", "dbus://\(exec)"], as: Self.user, environment: environment, timeout: 20)
        XCTAssertNotEqual(cli.status, 0)
        XCTAssertTrue(cli.stderr.contains("D-Bus"), cli.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the CLI's helper ran a program")
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testTheLibraryRefusesNonInterfaceNamesBeforeSpawning() async throws {
        let neverRun = "/nonexistent/swiftcap-helper" // a spawn would fail with helperNotFound
        let cases: [(String, CaptureError.Code, String)] = [
            ("dbus://unixexec:path=/bin/true", .unsupported, "D-Bus"),
            ("usbmon1", .unsupported, "USB"),
            ("a b", .interfaceNotFound, "NetworkDevice.all()"),
            (String(repeating: "y", count: 40), .interfaceNotFound, "at most 15"),
        ]
        for (name, code, says) in cases {
            _ = await expectCaptureError(code, advice: [says]) {
                try await LiveCapture.open(interface: name, options: CaptureOptions(helperPath: neverRun))
            }
        }
    }

    func testTheHelperStartsWithAnEmptyEnvironment() throws {
        let helper = try BuiltProducts.helper()
        let r = try runProcess([helper, "--self-test-environment"],
                               environment: ["DBUS_SESSION_BUS_ADDRESS": "unixexec:path=/bin/true", "LOCALDOMAIN": "example",
                                             "RES_OPTIONS": "ndots:15", "HOSTALIASES": "/tmp/x", "PCAP_FRAMES": "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "environment entries: 0\n")
    }

    /// libpcap is linked statically with its D-Bus backend stubbed out: a running helper
    /// (capturing on lo) has mapped no D-Bus, systemd, gcrypt or compression library and
    /// no shared libpcap, and the D-Bus capture sources are still refused by name.
    func testTheRunningHelperMapsNoDBusOrSystemdLibrary() async throws {
        try requireRoot("it captures on lo")
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions())
        let maps = try String(contentsOfFile: "/proc/\(capture.helperProcessID)/maps", encoding: .utf8)
        await capture.close()
        let libraries = Set(maps.split(separator: "\n").compactMap { line in
            line.split(separator: " ", omittingEmptySubsequences: true).last.flatMap { $0.contains(".so") ? String($0) : nil }
        })
        XCTAssertFalse(libraries.isEmpty, "no shared library in the helper's maps:\n\(maps)")
        for absent in ["libdbus", "libsystemd", "libgcrypt", "liblzma", "libzstd", "liblz4", "libgpg-error", "libpcap"] {
            XCTAssertFalse(libraries.contains { $0.contains(absent) }, "the helper mapped \(absent): \(libraries.sorted())")
        }
        for name in ["dbus-system", "dbus-session"] {
            _ = await expectCaptureError(.unsupported, advice: ["D-Bus"]) {
                try await LiveCapture.open(interface: name, options: CaptureOptions(helperPath: "/nonexistent/never-run"))
            }
        }
    }

    /// strace shows every file the helper opens and every capset it makes: the
    /// files NSS reads for the filter's names come after the last capability is gone.
    func testNamesInTheOpenFilterResolveOnlyAfterEveryCapabilityIsDropped() async throws {
        try requireRoot("it traces the helper with strace")
        let strace = "/usr/bin/strace"
        guard FileManager.default.isExecutableFile(atPath: strace) else {
            throw TestSupportError("\(strace) is missing: .ci/setup installs the strace package")
        }
        let dir = try makeTemporaryDirectory("swiftcap-strace")
        defer { removeTemporary(dir) }
        let log = dir + "/trace"
        let wrapper = try makeScript("swiftcap-helper", """
            #!/bin/sh
            exec \(strace) -qq -o \(log) -e trace=capset,openat,socket,connect -- \(try BuiltProducts.helper()) "$@"
            """)
        defer { removeTemporary(wrapper) }
        var options = CaptureOptions(helperPath: wrapper)
        options.filter = "host localhost and tcp port http"
        let capture = try await LiveCapture.open(interface: "lo", options: options)
        await capture.close()

        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        let dropped = lines.firstIndex { $0.hasPrefix("capset(") && $0.contains("effective=0,") && $0.contains("permitted=0,") }
        let nameFiles = ["/etc/hosts", "/etc/services", "/etc/resolv.conf", "/etc/host.conf"]
        let lookups = lines.indices.filter { i in nameFiles.contains { lines[i].contains("\"\($0)\"") } || lines[i].hasPrefix("socket(AF_INET") }
        let d = try XCTUnwrap(dropped, "no capset that empties every set:\n\(lines.joined(separator: "\n"))")
        XCTAssertFalse(lookups.isEmpty, "the filter's names were not looked up at all (is the trace complete?)")
        for i in lookups {
            XCTAssertGreaterThan(i, d, "looked up with a capability held: \(lines[i])")
        }
    }

    func testPathologicalFiltersEndWithinTheirBudget() async throws {
        try requireRoot()
        let helper = try BuiltProducts.helper()
        let chain = (1 ... 1000).map { "tcp port \($0)" }.joined(separator: " or ") // about 16 KB
        let advice = ["too costly to compile", "2000 ms of CPU time", "optimize: false"]

        _ = await expectCaptureError(.filterTooComplex, advice: advice) {
            try await LiveCapture.open(interface: "lo", options: try helperOptions {
                $0.filter = chain
                $0.filterLengthLimit = 65536
            })
        }
        _ = await expectCaptureError(.filterTooComplex, advice: advice) {
            try await FilterCompiler.compile(chain, linkTypes: [.ethernet], lengthLimit: 65536, helperPath: helper)
        }
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions {
            $0.filterLengthLimit = 65536
            $0.requestTimeout = .seconds(10)
        })
        _ = await expectCaptureError(.filterTooComplex, advice: advice) { try await capture.setFilter(chain) }
        // The capture survives, and its helper compiles nothing more (the abandoned
        // compile leaked its memory): it says so instead of risking the capture.
        _ = try await capture.statistics()
        _ = await expectCaptureError(.filterTooComplex, advice: ["open a new capture"]) { try await capture.setFilter("udp") }
        await capture.close()

        // A realistic filter of the same shape passes.
        let ordinary = (1 ... 40).map { "tcp port \($0)" }.joined(separator: " or ")
        let fine = try await LiveCapture.open(interface: "lo", options: try helperOptions { $0.filter = ordinary })
        try await fine.setFilter(ordinary)
        await fine.close()
    }

    func testHugeKernelBuffersAreRefused() async throws {
        try requireRoot()
        let helper = try BuiltProducts.helper()
        for size in [UInt32(Int32.max), UInt32(Limits.maxBufferSize + 1), UInt32.max] {
            var request = OpenRequest(device: "lo")
            request.bufferSize = size
            let outcome = try RawHelper.run(helper, [.open(request)])
            let error = try XCTUnwrap(outcome.error, "buffer \(size): opened; frames \(outcome.frames)")
            XCTAssertEqual(error.code, .badRequest, error.message)
            XCTAssertTrue(error.message.contains("1 GiB"), error.message)
        }
        for size in [4 << 30, Limits.maxBufferSize + 1] {
            _ = await expectCaptureError(.invalidArgument, advice: ["bufferSize", "1 GiB"]) {
                try await LiveCapture.open(interface: "lo", options: try helperOptions { $0.bufferSize = size })
            }
        }
        // The limit itself is allowed (the kernel may grant less).
        let big = try await LiveCapture.open(interface: "lo", options: try helperOptions { $0.bufferSize = 64 << 20 })
        await big.close()
    }

    func testAStderrNobodyReadsDoesNotBlockTheHelper() throws {
        let helper = try BuiltProducts.helper()
        let count = 3000 // each failed compile writes a diagnostic line: ~300 KB, over a 64 KiB pipe
        let request = CompileRequest(linkType: 1, snapshotLength: 262_144, filter: FilterSpec(expression: "tcp and and"))
        let outcome = try RawHelper.run(helper, Array(repeating: .compileFilter(request), count: count), readStderr: false, timeout: 60)
        let errors = outcome.frames.filter { if case .error(let e) = $0 { e.code == .filterInvalid } else { false } }
        XCTAssertEqual(errors.count, count, "the helper stopped answering once stderr was full")
    }
}
