import Foundation
import Glibc
@_spi(Testing) import PacketCapture
import TestSupport
import XCTest

/// No leaks, bounded memory, and what throughput the client reaches.
final class ResourceTests: XCTestCase {
    func testDroppedCaptureLeaksNoDescriptorThreadOrZombie() async throws {
        try requireRoot()
        // Warm up: the first capture creates lazily made runtime threads and descriptors.
        let warm = try await LiveCapture.open(interface: "lo", options: try helperOptions())
        await warm.close()

        // close() returns once the helper is reaped; the thread leaves right after.
        XCTAssertNotNil(waitUntil(timeout: 1) { ioThreadCount() == 0 }, "an I/O thread outlived its closed capture")
        let fds = ProcFS.openDescriptorCount()

        var pids: [Int32] = []
        for _ in 0 ..< 3 {
            let port = LoopbackTraffic.freePort()
            var capture: LiveCapture? = try await LiveCapture.open(interface: "lo", options: try helperOptions {
                $0.filter = "udp port \(port)"
            })
            pids.append(capture!.helperProcessID)
            try sendMarkers(["leak"], port: port)
            _ = try await collect(capture!, seconds: 2) { !$0.isEmpty }
            XCTAssertGreaterThan(ProcFS.openDescriptorCount(), fds)
            XCTAssertGreaterThanOrEqual(ioThreadCount(), 1)
            capture = nil // dropped without close()
            _ = capture
        }
        // Also drop one with a stream consumer that is still waiting.
        do {
            let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions { $0.filter = "udp port 9" })
            pids.append(capture.helperProcessID)
        }
        let clean = waitUntil(timeout: 3) {
            ProcFS.openDescriptorCount() == fds && ioThreadCount() == 0 && pids.allSatisfy { ProcFS.state(of: $0) == nil }
        }
        XCTAssertNotNil(clean, "after dropping captures: fds \(ProcFS.openDescriptorCount()) (was \(fds)), I/O threads \(ioThreadCount()), helpers left: \(pids.filter { ProcFS.state(of: $0) != nil }.map { "\($0):\(ProcFS.state(of: $0) ?? "")" })")
    }

    func testFailedOpensLeakNothing() async throws {
        try requireRoot()
        let warm = try await LiveCapture.open(interface: "lo", options: try helperOptions())
        await warm.close()
        _ = waitUntil(timeout: 1) { ioThreadCount() == 0 }
        let fds = ProcFS.openDescriptorCount()
        let before = ProcFS.openDescriptors()
        for _ in 0 ..< 3 {
            _ = try? await LiveCapture.open(interface: "nosuchif0", options: try helperOptions())
            _ = try? await LiveCapture.open(interface: "lo", options: try helperOptions { $0.filter = "bad bad" })
            _ = try? await LiveCapture.open(interface: "lo", options: CaptureOptions(helperPath: try FakeHelper.make("exit-before-hello")))
        }
        XCTAssertNotNil(waitUntil(timeout: 3) { ProcFS.openDescriptorCount() == fds && ioThreadCount() == 0 },
                        "fds \(ProcFS.openDescriptorCount()) (was \(fds)), I/O threads \(ioThreadCount()), new: \(Set(ProcFS.openDescriptors()).subtracting(before).sorted())")
        XCTAssertTrue(ProcFS.children(of: getpid()).allSatisfy { ProcFS.state(of: $0) != "Z" }, "zombie children left")
    }

    /// A stalled consumer while ~60k packets hit lo: the queue stays bounded,
    /// the kernel drops, and statistics say so.
    func testBackpressureKeepsTheQueueBounded() async throws {
        try requireRoot()
        let port = LoopbackTraffic.freePort()
        let capacity = 4 << 20
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions {
            $0.filter = "udp port \(port)"
            $0.queueCapacity = capacity
        })
        let rssBefore = try residentKiB()
        let sent = try LoopbackTraffic.sendUDP(port: port, payload: LoopbackTraffic.payload("bp", size: 1000), count: 60_000, maxSeconds: 20)
        XCTAssertGreaterThan(sent, 50_000)
        try await Task.sleep(for: .milliseconds(500)) // the helper's last writes settle
        let peak = capture.peakQueuedBytes
        XCTAssertGreaterThanOrEqual(peak, capacity, "the queue never filled although nobody consumed")
        XCTAssertLessThanOrEqual(peak, capacity + 512 * 1024, "queue exceeded its bound while the consumer stalled")
        let rssGrowth = try residentKiB() - rssBefore
        XCTAssertLessThan(rssGrowth, 64 * 1024, "RSS grew by \(rssGrowth) KiB while stalled")

        let stats = try await capture.statistics()
        XCTAssertGreaterThan(stats.droppedByKernel, 0, "60k x 1 KiB packets with a stalled consumer and no drops: \(stats)")

        // Drain: everything the helper sent arrives, in order of capture.
        var consumed = 0
        while try await capture.next(timeout: .milliseconds(300)) != nil { consumed += 1 }
        let after = try await capture.statistics()
        XCTAssertEqual(after.delivered, UInt64(consumed))
        XCTAssertEqual(after.sentByHelper, UInt64(consumed), "packets sent by the helper were lost in the client")
        // On lo the kernel counts each packet twice (sent and received copies;
        // libpcap discards the sent one), so received ≥ delivered + dropped.
        XCTAssertLessThanOrEqual(UInt64(consumed) + after.droppedByKernel, after.received, "\(after)")
        XCTAssertGreaterThanOrEqual(after.received, UInt64(sent), "\(after)")
        print("backpressure: sent \(sent), received \(after.received), dropped by kernel \(after.droppedByKernel), delivered \(consumed), peak queue \(peak) bytes, RSS +\(rssGrowth) KiB")
        await capture.close()
    }

    /// Throughput of the whole path (kernel → helper → pipe → client → consumer)
    /// while this process itself blasts lo. Printed, and bounded below loosely.
    func testThroughputThroughTheClient() async throws {
        try requireRoot()
        let port = LoopbackTraffic.freePort()
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions {
            $0.filter = "udp port \(port)"
            $0.snapshotLength = 128
            $0.bufferSize = 32 << 20
        })
        let total = 200_000
        let done = DispatchSemaphore(value: 0)
        let sender = Thread {
            _ = try? LoopbackTraffic.sendUDP(port: port, payload: LoopbackTraffic.payload("tp", size: 18), count: total, maxSeconds: 20)
            done.signal()
        }
        let start = Date()
        let consumer = Task { () -> (Int, Date) in
            var n = 0
            var last = start
            do {
                for try await _ in capture.packets {
                    n += 1
                    if n & 1023 == 0 { last = Date() }
                }
            } catch {}
            return (n, last)
        }
        sender.start()
        _ = await Task.detached { done.wait(timeout: .now() + 30) }.value
        try await Task.sleep(for: .milliseconds(500))
        consumer.cancel()
        let (n, last) = await consumer.value
        let seconds = last.timeIntervalSince(start)
        let stats = try await capture.statistics()
        print("throughput: \(n) packets in \(String(format: "%.2f", seconds)) s = \(Int(Double(n) / seconds)) packets/s through the client (kernel drops \(stats.droppedByKernel))")
        XCTAssertGreaterThan(Double(n) / seconds, 20_000)
        await capture.close()
    }

    private func residentKiB() throws -> Int {
        let status = try ProcFS.status(of: getpid())
        return Int(status["VmRSS"]?.split(separator: " ").first ?? "") ?? 0
    }
}
