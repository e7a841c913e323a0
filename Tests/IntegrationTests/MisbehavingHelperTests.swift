import Foundation
import Glibc
@_spi(Testing) import PacketCapture
import TestSupport
import XCTest

/// The client against helpers that stop answering, flood, or leave their
/// stdout to someone else: every call ends, with a typed error, and memory
/// stays bounded (issue 6, items 6-9).
///
/// Attacks tried, one test each:
///
/// | helper does                                   | client call             | expected                         |
/// |-----------------------------------------------|-------------------------|----------------------------------|
/// | never says hello                              | open                    | .timedOut "hello", helper killed |
/// | says hello, answers nothing                   | open, devices, compile  | .timedOut naming the request     |
/// | answers open, then nothing                    | statistics, setFilter, inject | .timedOut, helper killed   |
/// | real helper stopped with SIGSTOP              | statistics              | .timedOut, helper killed         |
/// | floods packets, never answers                 | statistics              | .timedOut, queue and RSS bounded |
/// | exits, a grandchild keeps its stdout open     | iterate packets         | packets, then .helperTerminated  |
/// | packets and a malformed frame in one write    | iterate packets         | the packets, then the violation  |
/// | closes stdout, stays alive                    | iterate packets         | "did not exit", killed by client |
final class MisbehavingHelperTests: XCTestCase {
    private func options(_ mode: String, _ fake: [String: Int] = [:],
                         _ configure: (inout CaptureOptions) -> Void = { _ in }) throws -> CaptureOptions {
        var o = CaptureOptions()
        o.helperPath = try FakeHelper.make(mode, fake)
        o.requestTimeout = .seconds(1)
        o.openTimeout = .seconds(1)
        configure(&o)
        return o
    }

    /// Runs `body`, failing the test if it has not returned after `seconds`
    /// (a hang is the bug these tests look for; this is a guard, not a measure).
    private func withinBound<T: Sendable>(_ what: String, seconds: Double = 20,
                                          _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask { try await Task.sleep(for: .seconds(seconds)); return nil }
            guard let first = try await group.next(), let value = first else {
                group.cancelAll()
                throw TestSupportError("\(what) did not return within \(seconds) s: the client hangs")
            }
            group.cancelAll()
            return value
        }
    }

    func testSilentHelperEndsEveryRequestWithinItsDeadline() async throws {
        // Before any request: no hello at all.
        let noHello = try options("no-hello")
        let e1 = try await withinBound("open without hello") {
            await expectCaptureError(.timedOut, advice: ["hello", "1 s", "CaptureOptions.requestTimeout"]) {
                try await LiveCapture.open(interface: "fake0", options: noHello)
            }
        }
        XCTAssertEqual(e1?.termination, .signaled(signal: SIGKILL))

        // Hello, then silence: open, device listing, filter compiling.
        let silent = try options("silent-after-hello")
        _ = try await withinBound("open") {
            await expectCaptureError(.timedOut, advice: ["open request", "CaptureOptions.openTimeout"]) {
                try await LiveCapture.open(interface: "fake0", options: silent)
            }
        }
        let path = try XCTUnwrap(silent.helperPath)
        _ = try await withinBound("devices") {
            await expectCaptureError(.timedOut, advice: ["listDevices request", "NetworkDevice.all"]) {
                try await NetworkDevice.all(helperPath: path, timeout: .seconds(1))
            }
        }
        _ = try await withinBound("compile") {
            await expectCaptureError(.timedOut, advice: ["compileFilter request", "FilterCompiler.compile"]) {
                try await FilterCompiler.compile("udp", linkTypes: [.ethernet], helperPath: path, timeout: .seconds(1))
            }
        }

        // Ready, then silence: each request of an open capture.
        typealias Call = @Sendable (LiveCapture) async throws -> Void
        let calls: [(String, Call)] = [
            ("statistics", { _ = try await $0.statistics() }),
            ("setFilter", { try await $0.setFilter("udp") }),
            ("inject", { _ = try await $0.inject([1, 2, 3]) }),
        ]
        for (name, call) in calls {
            let capture = try await LiveCapture.open(interface: "fake0", options: try options("silent-after-ready"))
            let pid = capture.helperProcessID
            let error = try await withinBound(name) {
                await expectCaptureError(.timedOut, advice: ["\(name) request", "1 s", "CaptureOptions.requestTimeout"]) {
                    try await call(capture)
                }
            }
            XCTAssertNotNil(error, name)
            XCTAssertNotNil(waitUntil(timeout: 5) { processIsDead(pid) }, "\(name): the silent helper was not killed")
            // The capture is over: later calls say why at once.
            _ = await expectCaptureError(.timedOut, advice: [name]) { try await capture.statistics() }
            await capture.close()
        }
    }

    func testStoppedRealHelperTimesOutAndIsKilled() async throws {
        try requireRoot()
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions { $0.requestTimeout = .seconds(1) })
        let pid = capture.helperProcessID
        kill(pid, SIGSTOP)
        let error = try await withinBound("statistics of a stopped helper") {
            await expectCaptureError(.timedOut, advice: ["statistics request", "SIGSTOP"]) { try await capture.statistics() }
        }
        XCTAssertNotNil(error)
        XCTAssertNotNil(waitUntil(timeout: 5) { processIsDead(pid) }, "the stopped helper survived")
        await capture.close()
    }

    func testFloodingHelperThatNeverAnswersKeepsTheClientBounded() async throws {
        let capacity = 4 << 20
        let capture = try await LiveCapture.open(interface: "fake0", options: try options("flood-no-answer", ["size": 1000, "seconds": 8]) {
            $0.queueCapacity = capacity
            $0.requestTimeout = .seconds(3)
        })
        let before = try residentBytes()
        // Nobody consumes: the queue fills, then the request forces reads.
        _ = try await withinBound("statistics during a flood") {
            await expectCaptureError(.timedOut, advice: ["statistics request"]) { try await capture.statistics() }
        }
        let after = try residentBytes()
        // Reading on to a reply may add what an honest helper's buffer and the
        // pipe hold (3 MiB), plus one read (256 KiB) that lands just under that.
        XCTAssertLessThanOrEqual(capture.peakQueuedBytes, capacity + (3 << 20) + 512 * 1024,
                                 "the queue grew past its bound while a reply was awaited")
        XCTAssertLessThan(after - before, 64 << 20, "the client grew by \((after - before) >> 20) MiB during a 3 s flood")
        await capture.close()
    }

    func testHelperWhoseStdoutOutlivesItIsSeenToEnd() async throws {
        let capture = try await LiveCapture.open(interface: "fake0", options: try options("grandchild-stdout", ["count": 5]))
        defer { killGrandchildren() }
        let (packets, error) = await drainUntilError(capture, seconds: 15)
        XCTAssertEqual(packets.count, 5)
        let e = try XCTUnwrap(error, "the end of a helper whose stdout a grandchild holds went unnoticed")
        XCTAssertEqual(e.code, .helperTerminated, e.message)
        XCTAssertEqual(e.termination, .exited(status: 0))
        XCTAssertTrue(e.message.contains("while capturing"), e.message)
        await capture.close()
    }

    func testPacketsBeforeAMalformedFrameInTheSameReadAreDelivered() async throws {
        let capture = try await LiveCapture.open(interface: "fake0", options: try options("packets-then-garbage", ["count": 3]))
        let (packets, error) = await drainUntilError(capture)
        XCTAssertEqual(packets.count, 3, "packets read together with a malformed frame were lost")
        XCTAssertEqual(error?.code, .protocolViolation)
        XCTAssertTrue(error?.message.contains("unknown frame type 0x55") == true, error?.message ?? "")
        await capture.close()
    }

    func testHelperThatClosesStdoutButStaysIsReportedAsKilledByTheClient() async throws {
        let capture = try await LiveCapture.open(interface: "fake0", options: try options("close-stdout-stay"))
        let (_, error) = await drainUntilError(capture)
        let e = try XCTUnwrap(error)
        XCTAssertEqual(e.code, .helperTerminated)
        XCTAssertEqual(e.termination, .signaled(signal: SIGKILL))
        XCTAssertTrue(e.message.contains("closed its output but did not exit within 2 s"), e.message)
        XCTAssertTrue(e.message.contains("so swiftcap killed it (SIGKILL)"), e.message)
        XCTAssertFalse(e.message.contains("report a swiftcap bug"), "blames a crash the client caused: \(e.message)")
        await capture.close()
    }

    /// VmRSS of this process.
    private func residentBytes() throws -> Int {
        let status = try ProcFS.status(of: getpid())
        guard let field = status["VmRSS"], let kib = Int(field.split(separator: " ").first ?? "") else {
            throw TestSupportError("no VmRSS in /proc/self/status")
        }
        return kib * 1024
    }

    /// The `sleep 29.5` that grandchild-stdout leaves behind.
    private func killGrandchildren() {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { Int32($0) } ?? []
        for pid in pids {
            guard let cmdline = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { continue }
            if cmdline == "sleep\u{0}29.5\u{0}" { kill(pid, SIGKILL) }
        }
    }
}
