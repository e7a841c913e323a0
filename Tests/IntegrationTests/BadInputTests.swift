import Foundation
import Glibc
@_spi(Testing) import PacketCapture
import SwiftcapWire
import TestSupport
import XCTest

/// Each bad input gets its typed error, and the message says what to do.
final class BadInputTests: XCTestCase {
    func testBadInputsTable() async throws {
        try requireRoot()
        let helper = try BuiltProducts.helper()

        struct Case {
            var name: String
            var code: CaptureError.Code
            var advice: [String]
            var run: @Sendable () async throws -> Void
        }
        // One open capture on lo for the per-capture cases.
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions { $0.filter = "udp port 9" })
        let closed = try await LiveCapture.open(interface: "lo", options: try helperOptions())
        await closed.close()
        let bounded = try makeScript("swiftcap-helper", "#!/bin/sh\nexec /usr/bin/setpriv --bounding-set -net_raw \(helper) \"$@\"\n")
        defer { removeTemporary(bounded) }

        let cases: [Case] = [
            Case(name: "unknown interface", code: .interfaceNotFound, advice: ["nosuchif0", "swiftcap devices"]) {
                _ = try await LiveCapture.open(interface: "nosuchif0", options: try helperOptions())
            },
            Case(name: "invalid filter at open", code: .filterInvalid, advice: ["port port", "pcap-filter(7)"]) {
                _ = try await LiveCapture.open(interface: "lo", options: try helperOptions { $0.filter = "port port" })
            },
            Case(name: "filter over the limit", code: .filterTooLong, advice: ["shorten it or raise filterLengthLimit"]) {
                let long = Array(repeating: "udp port 1", count: 900).joined(separator: " or ")
                _ = try await LiveCapture.open(interface: "lo", options: try helperOptions { $0.filter = long })
            },
            Case(name: "setFilter over the limit", code: .filterTooLong, advice: ["8192"]) {
                try await capture.setFilter(String(repeating: "x", count: 8193))
            },
            Case(name: "snapshot length 0", code: .invalidArgument, advice: ["262144"]) {
                _ = try await LiveCapture.open(interface: "lo", options: try helperOptions { $0.snapshotLength = 0 })
            },
            Case(name: "timeout 0 ms", code: .invalidArgument, advice: [".immediate"]) {
                _ = try await LiveCapture.open(interface: "lo", options: try helperOptions { $0.timeout = .milliseconds(0) })
            },
            Case(name: "inject larger than the MTU", code: .injectFailed, advice: ["MTU"]) {
                _ = try await capture.inject([UInt8](repeating: 0, count: 70_000))
            },
            Case(name: "inject larger than the protocol allows", code: .packetTooLarge, advice: ["262144", "split"]) {
                _ = try await capture.inject([UInt8](repeating: 0, count: Wire.maxSnapshotLength + 1))
            },
            Case(name: "inject nothing", code: .packetTooLarge, advice: ["1...262144"]) {
                _ = try await capture.inject([UInt8]())
            },
            Case(name: "statistics after close", code: .captureClosed, advice: ["open a new LiveCapture"]) {
                _ = try await closed.statistics()
            },
            Case(name: "inject after close", code: .captureClosed, advice: ["open a new LiveCapture"]) {
                _ = try await closed.inject([1, 2, 3])
            },
            Case(name: "setFilter after close", code: .captureClosed, advice: ["open a new LiveCapture"]) {
                try await closed.setFilter("udp")
            },
            Case(name: "next after close", code: .captureClosed, advice: ["open a new LiveCapture"]) {
                _ = try await closed.next(timeout: .seconds(1))
            },
            Case(name: "helper missing", code: .helperNotFound, advice: ["/nonexistent/swiftcap-helper", "helperPath"]) {
                _ = try await LiveCapture.open(interface: "lo", options: CaptureOptions(helperPath: "/nonexistent/swiftcap-helper"))
            },
            Case(name: "helper not executable", code: .helperNotFound, advice: ["is not a regular file"]) {
                _ = try await LiveCapture.open(interface: "lo", options: CaptureOptions(helperPath: "/tmp"))
            },
            Case(name: "helper without CAP_NET_RAW", code: .permissionDenied, advice: ["lacks CAP_NET_RAW", "setcap cap_net_raw=ep \(bounded)"]) {
                _ = try await LiveCapture.open(interface: "lo", options: CaptureOptions(helperPath: bounded))
            },
            Case(name: "monitor mode on lo", code: .unsupported, advice: ["monitor mode"]) {
                _ = try await LiveCapture.open(interface: "lo", options: try helperOptions { $0.monitorMode = true })
            },
            Case(name: "device list with a missing helper", code: .helperNotFound, advice: ["helperPath"]) {
                _ = try await NetworkDevice.all(helperPath: "/nonexistent/swiftcap-helper")
            },
            Case(name: "compile an invalid filter", code: .filterInvalid, advice: ["pcap-filter(7)"]) {
                _ = try await FilterCompiler.compile("tcp and and", linkTypes: [.ethernet], helperPath: helper)
            },
        ]
        for c in cases {
            let e = await expectCaptureError(c.code, advice: c.advice) { try await c.run() }
            if e == nil { XCTFail("case failed: \(c.name)") }
        }

        // The shared capture survived every per-capture error.
        let stats = try await capture.statistics()
        XCTAssertEqual(stats.droppedByKernel, 0)
        await capture.close()
    }

    func testDoubleCloseIsHarmless() async throws {
        try requireRoot()
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions())
        let pid = capture.helperProcessID
        await capture.close()
        XCTAssertTrue(processIsDead(pid))
        let t0 = Date()
        await capture.close()
        XCTAssertLessThan(Date().timeIntervalSince(t0), 0.5, "a second close waited for something")
        // Iteration after close ends at once.
        var n = 0
        for try await _ in capture.packets { n += 1 }
        XCTAssertEqual(n, 0)
    }

    func testHelperDiscoveryFromEnvironment() async throws {
        try requireRoot()
        setenv("SWIFTCAP_HELPER", "/nonexistent/from-env", 1)
        defer { unsetenv("SWIFTCAP_HELPER") }
        _ = await expectCaptureError(.helperNotFound, advice: ["SWIFTCAP_HELPER=/nonexistent/from-env", "unset it"]) {
            try await LiveCapture.open(interface: "lo")
        }
        setenv("SWIFTCAP_HELPER", try BuiltProducts.helper(), 1)
        let capture = try await LiveCapture.open(interface: "lo")
        XCTAssertEqual(capture.helperPath, try BuiltProducts.helper())
        await capture.close()
    }
}
