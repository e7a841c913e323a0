import Foundation
import Glibc
@_spi(Testing) import PacketCapture
import TestSupport
import XCTest

/// The client's side of the protocol against a scripted helper (TestSupport's
/// FakeHelper): malformed frames, crashes and floods that the real helper does
/// not produce on demand.
final class FakeHelperProtocolTests: XCTestCase {
    private func open(_ mode: String, _ options: [String: Int] = [:], interface: String = "fake0",
                      configure: (inout CaptureOptions) -> Void = { _ in }) async throws -> LiveCapture {
        var o = CaptureOptions()
        o.helperPath = try FakeHelper.make(mode, options)
        configure(&o)
        return try await LiveCapture.open(interface: interface, options: o)
    }

    func testMalformedFramesEndTheSessionWithProtocolViolation() async throws {
        let cases: [(mode: String, reason: String)] = [
            ("garbage-length", "exceeds the bound"),
            ("unknown-type", "unknown frame type 0x55"),
            ("bad-packet", "exceeds wire length"),
            ("unsolicited", "unsolicited filterSet"),
            ("second-hello", "second hello"),
        ]
        for c in cases {
            let capture = try await open(c.mode)
            let pid = capture.helperProcessID
            let (_, error) = await drainUntilError(capture)
            let e = try XCTUnwrap(error, "\(c.mode): no error")
            XCTAssertEqual(e.code, .protocolViolation, "\(c.mode): \(e)")
            XCTAssertTrue(e.message.contains(c.reason), "\(c.mode): \(e.message)")
            XCTAssertTrue(e.message.contains("same swiftcap version"), "\(c.mode): no advice in \(e.message)")
            XCTAssertEqual(e.termination, .signaled(signal: SIGKILL), "\(c.mode): the helper is killed after a violation")
            XCTAssertTrue(processIsDead(pid))
            await capture.close()
        }
    }

    func testVersionMismatchAndGarbageBeforeHello() async throws {
        // A version 1 helper (no software version in its hello) and a future one.
        let older = await expectCaptureError(.helperVersionMismatch, advice: ["an older swiftcap", "protocol version 1", "same swiftcap version", "install-helper"]) {
            try await self.open("normal", ["version": 1])
        }
        XCTAssertNotNil(older)
        let newer = await expectCaptureError(.helperVersionMismatch, advice: ["swiftcap 9.3.0, protocol version 3", "this client is swiftcap \(HelperInstallation.version)"]) {
            try await self.open("normal", ["version": 3])
        }
        XCTAssertNotNil(newer)
        _ = await expectCaptureError(.protocolViolation, advice: ["exceeds the bound"]) {
            try await self.open("garbage-before-hello")
        }
    }

    func testHelperExitBeforeHelloReportsStatusAndStderr() async throws {
        let error = await expectCaptureError(.helperTerminated, advice: ["exited with status 3", "giving up before hello", "before it said hello"]) {
            try await self.open("exit-before-hello")
        }
        XCTAssertEqual(error?.termination, .exited(status: 3))
        XCTAssertNotNil(error?.helperPath)
    }

    func testFatalErrorsFromTheHelperMapToCodes() async throws {
        _ = await expectCaptureError(.interfaceNotFound, advice: ["nosuchdev", "swiftcap devices"]) {
            try await self.open("normal", interface: "nosuchdev")
        }
        let denied = await expectCaptureError(.permissionDenied, advice: ["lacks CAP_NET_RAW", "setcap cap_net_raw=ep"]) {
            try await self.open("no-capability")
        }
        XCTAssertTrue(denied?.message.contains(denied?.helperPath ?? "?") == true)
        _ = await expectCaptureError(.helperTerminated, advice: ["exited with status 5", "before answering"]) {
            try await self.open("open-fails-silently")
        }
    }

    func testPacketsBeforeAHelperCrashAreDeliveredThenTheCrash() async throws {
        let capture = try await open("crash", ["count": 100])
        let (packets, error) = await drainUntilError(capture)
        XCTAssertEqual(packets.count, 100)
        let seqs = packets.map { p in p.bytes.prefix(4).reduce(0) { $0 << 8 | Int($1) } }
        XCTAssertEqual(seqs, Array(0 ..< 100))
        let e = try XCTUnwrap(error)
        XCTAssertEqual(e.code, .helperTerminated)
        XCTAssertEqual(e.termination, .signaled(signal: SIGSEGV))
        XCTAssertTrue(e.message.contains("swiftcap-helper (pid \(capture.helperProcessID)) was killed by signal SIGSEGV"), e.message)
        // Later calls report the same.
        _ = await expectCaptureError(.helperTerminated, advice: ["SIGSEGV"]) { try await capture.statistics() }
        _ = await expectCaptureError(.helperTerminated, advice: ["SIGSEGV"]) { try await capture.next(timeout: .seconds(1)) }
    }

    func testHelperExitAndFatalErrorDuringCapture() async throws {
        var capture = try await open("exit", ["count": 7])
        var (packets, error) = await drainUntilError(capture)
        XCTAssertEqual(packets.count, 7)
        XCTAssertEqual(error?.code, .helperTerminated)
        XCTAssertEqual(error?.termination, .exited(status: 3))
        XCTAssertTrue(error?.message.contains("exiting with status 3") == true, error?.message ?? "")

        capture = try await open("fatal", ["count": 5])
        (packets, error) = await drainUntilError(capture)
        XCTAssertEqual(packets.count, 5)
        XCTAssertEqual(error?.code, .captureFailed)
        XCTAssertTrue(error?.message.contains("the interface went down") == true, error?.message ?? "")
        XCTAssertTrue(error?.message.contains("open the capture again") == true, error?.message ?? "")
        XCTAssertEqual(error?.termination, .exited(status: 1))
    }

    func testRequestsRepliesAndNonFatalErrors() async throws {
        let capture = try await open("normal", ["count": 3])
        XCTAssertEqual(capture.libpcapVersion, "fake libpcap 0.0")
        let first = try await collect(capture, seconds: 5) { $0.count >= 3 }
        XCTAssertEqual(first.count, 3)
        let injected = try await capture.inject([UInt8](repeating: 0xAB, count: 1500))
        XCTAssertEqual(injected, 1500)
        try await capture.setFilter("udp")
        _ = await expectCaptureError(.filterInvalid, advice: ["bad filter", "pcap-filter(7)"]) {
            try await capture.setFilter("bad filter")
        }
        let stats = try await capture.statistics()
        XCTAssertEqual(stats.sentByHelper, 3)
        XCTAssertEqual(stats.delivered, 3)
        // Requests from many tasks at once are serialized, one outstanding at a time.
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 1 ... 20 { group.addTask { try await capture.inject([UInt8](repeating: 1, count: i)) } }
            var total = 0
            for try await n in group { total += n }
            XCTAssertEqual(total, (1 ... 20).reduce(0, +))
        }
        await capture.close()
        XCTAssertTrue(capture.helperFinished)
    }

    func testNextTimeoutAndCancellation() async throws {
        let capture = try await open("normal")
        let start = Date()
        let none = try await capture.next(timeout: .milliseconds(150))
        let waited = Date().timeIntervalSince(start)
        XCTAssertNil(none)
        XCTAssertGreaterThanOrEqual(waited, 0.14)
        XCTAssertLessThan(waited, 5, "next(timeout: 150 ms) waited far too long")
        let immediate = try await capture.next(timeout: .zero)
        XCTAssertNil(immediate)

        // Cancelling a task waiting on the stream ends its iteration (nil).
        let waiter = Task { () -> Int in
            var n = 0
            for try await _ in capture.packets { n += 1 }
            return n
        }
        try await Task.sleep(for: .milliseconds(100))
        let cancelledAt = Date()
        waiter.cancel()
        let n = try await waiter.value
        XCTAssertEqual(n, 0)
        // Promptly: far below the 30 s a missed cancellation would wait (loose bounds: CI may be loaded).
        XCTAssertLessThan(Date().timeIntervalSince(cancelledAt), 2)

        // And a cancelled next(timeout:) returns nil at once.
        let single = Task { try await capture.next(timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(50))
        let t0 = Date()
        single.cancel()
        let r = try await single.value
        XCTAssertNil(r)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 2)
        await capture.close()
    }

    /// A cancelled consumer stops at the next batch even when packets are queued (the
    /// CLI's ^C used to wait until a whole backlog was printed); the queued packets stay
    /// for a consumer that is not cancelled.
    func testCancelledConsumerStopsWithPacketsQueued() async throws {
        let capture = try await open("normal", ["count": 3])
        try await Task.sleep(for: .milliseconds(500))   // the fake writes its 3 packets right after ready
        let cancelled = Task { () async throws -> [Int] in
            withUnsafeCurrentTask { $0?.cancel() }
            var batches = capture.batches.makeAsyncIterator()
            var packets = capture.packets.makeAsyncIterator()
            let batch = try await batches.next()
            let packet = try await packets.next()
            return [batch?.count ?? 0, packet == nil ? 0 : 1]
        }
        let got = try await cancelled.value
        XCTAssertEqual(got, [0, 0], "a cancelled iterator got queued packets (batch, single packet)")
        let all = try await collect(capture, seconds: 5) { $0.count >= 3 }
        XCTAssertEqual(all.count, 3, "the queued packets were lost")
        await capture.close()
    }

    func testCloseOfAHelperThatIgnoresItIsBoundedBySIGKILL() async throws {
        let capture = try await open("ignore-close")
        let start = Date()
        await capture.close()
        let took = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(took, 1.9)
        XCTAssertLessThan(took, 3.0)
        XCTAssertTrue(processIsDead(capture.helperProcessID))
        _ = await expectCaptureError(.captureClosed, advice: ["open a new LiveCapture"]) { try await capture.statistics() }
    }

    func testFloodIsDeliveredInOrderWithABoundedQueue() async throws {
        let total = 200_000
        let capture = try await open("flood", ["count": total, "size": 60])
        // Stall: the queue must fill to its bound and stop there.
        try await Task.sleep(for: .milliseconds(1500))
        let limit = 4 << 20
        XCTAssertGreaterThanOrEqual(capture.peakQueuedBytes, limit, "the queue never filled while the consumer stalled")
        XCTAssertLessThanOrEqual(capture.peakQueuedBytes, limit + 512 * 1024, "queue grew past its bound while stalled")
        // A request while the queue is full is still answered (reads go on to the reply).
        let stats = try await capture.statistics()
        XCTAssertLessThan(stats.sentByHelper, UInt64(total), "the helper was not held back by the full pipe")
        // Reading on to the reply takes at most what the pipe (1 MiB) and the
        // helper's buffer held, counted with each packet's in-memory overhead.
        XCTAssertLessThanOrEqual(capture.peakQueuedBytes, limit + 3 * 1024 * 1024, "reading past packets to a reply is bounded")

        // Then everything arrives, in order, none lost.
        let start = Date()
        var expected = 0
        var ok = true
        for try await p in capture.packets {
            let seq = p.bytes.prefix(4).reduce(0) { $0 << 8 | Int($1) }
            if seq != expected { ok = false; break }
            expected += 1
            if expected == total { break }
        }
        let seconds = Date().timeIntervalSince(start)
        XCTAssertTrue(ok, "packet \(expected) out of order")
        XCTAssertEqual(expected, total)
        print("fake-helper flood: \(total) packets through the client in \(String(format: "%.2f", seconds)) s (the Python producer bounds this)")
        await capture.close()
    }

    func testDeviceListAndCompilerAgainstTheFake() async throws {
        let path = try FakeHelper.make("normal")
        let devices = try await NetworkDevice.all(helperPath: path)
        XCTAssertEqual(devices.map(\.name), ["eth0", "lo"])
        XCTAssertEqual(devices[0].description, "fake ethernet")
        XCTAssertEqual(devices[1].description, nil)
        XCTAssertEqual(devices[1].flags, [.loopback, .up, .running])
        XCTAssertEqual(devices[1].addresses.first?.address?.description, "127.0.0.1")
        XCTAssertEqual(devices[1].addresses.first?.netmask?.description, "255.0.0.0")
        let defaultDevice = try await NetworkDevice.defaultDevice(helperPath: path)
        XCTAssertEqual(defaultDevice.name, "eth0")

        let programs = try await FilterCompiler.compile("tcp", linkTypes: [.ethernet, .linuxSLL], helperPath: path)
        XCTAssertEqual(programs[.ethernet]?.instructions, [BPFInstruction(code: 0x06, jt: 0, jf: 0, k: 262_144)])
        XCTAssertEqual(programs.count, 2)
        _ = await expectCaptureError(.filterInvalid, advice: ["syntax error"]) {
            try await FilterCompiler.compile("bad filter", linkTypes: [.ethernet], helperPath: path)
        }
    }

    func testIPAddressFormatting() {
        XCTAssertEqual(IPAddress(bytes: [10, 200, 1, 2])?.description, "10.200.1.2")
        XCTAssertEqual(IPAddress(bytes: [UInt8](repeating: 0, count: 15) + [1])?.description, "::1")
        XCTAssertEqual(IPAddress(bytes: [0xfe, 0x80] + [UInt8](repeating: 0, count: 6) + [0, 0, 0, 0, 0, 0, 0, 1])?.description, "fe80::1")
        XCTAssertEqual(IPAddress(bytes: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])?.description, "2001:db8:0:1::1")
        XCTAssertEqual(IPAddress(bytes: [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 192, 0, 2, 1])?.description, "::ffff:192.0.2.1")
        XCTAssertNil(IPAddress(bytes: [1, 2, 3]))
    }

    /// The helper starts with descriptors 0, 1 and 2 only (all pipes), no
    /// blocked or ignored signal, in a process group of its own.
    func testSpawnedHelperEnvironment() async throws {
        // An inheritable descriptor in the client must not reach the helper.
        let leaky = Glibc.open("/etc/hostname", O_RDONLY)
        defer { close(leaky) }
        signal(SIGUSR1, SIG_IGN)
        defer { signal(SIGUSR1, SIG_DFL) }
        let script = try makeScript("swiftcap-helper", """
            #!/bin/sh
            ls -l /proc/self/fd | sed -n 's/.* \\([0-9]*\\) -> \\(.*\\)$/fd \\1 \\2/p' >&2
            grep -E '^(SigBlk|SigIgn)' /proc/self/status >&2
            echo "pgid $(cut -d' ' -f5 /proc/$$/stat) pid $$" >&2
            exit 7
            """)
        defer { removeTemporary(script) }
        let error = await expectCaptureError(.helperTerminated, advice: ["exited with status 7"]) {
            try await LiveCapture.open(interface: "lo", options: CaptureOptions(helperPath: script))
        }
        let message = try XCTUnwrap(error?.message)
        let fds = message.components(separatedBy: "fd ").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
        // ls itself holds one more descriptor: the /proc/self/fd directory.
        XCTAssertEqual(fds.filter { $0 != 3 }, [0, 1, 2], message)
        XCTAssertFalse(message.contains("/etc/hostname"), "an inheritable client descriptor reached the helper: \(message)")
        for n in 0 ... 2 { XCTAssertTrue(message.contains("fd \(n) pipe:"), message) }
        XCTAssertTrue(message.contains("SigBlk:\t0000000000000000"), message)
        XCTAssertTrue(message.contains("SigIgn:\t0000000000000000"), message)
        let pgid = message.components(separatedBy: "pgid ").last.map { $0.prefix { $0.isNumber } }.flatMap { Int32($0) }
        let pid = message.components(separatedBy: " pid ").last.map { $0.prefix { $0.isNumber } }.flatMap { Int32($0) }
        XCTAssertNotNil(pgid)
        XCTAssertEqual(pgid, pid, "the helper leads its own process group")
        XCTAssertNotEqual(pgid, getpgrp())
    }
}
