import Foundation
@_spi(Testing) import PacketCapture
import TestSupport
import XCTest

/// `capture.batches`, `capture.executor`, and the stream's move-out fast path,
/// against the fake helper's flood mode (packets carry a big-endian sequence number).
final class BatchAndExecutorTests: XCTestCase {
    private func flood(_ count: Int) async throws -> LiveCapture {
        var o = CaptureOptions()
        o.helperPath = try FakeHelper.make("flood", ["count": count])
        return try await LiveCapture.open(interface: "fake0", options: o)
    }

    private static func threadName() -> String {
        let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
        return name.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func sequence(_ p: Packet) -> Int {
        p.bytes.prefix(4).reduce(0) { $0 << 8 | Int($1) }
    }

    func testBatchesDeliverEveryPacketInOrder() async throws {
        let total = 20_000
        let capture = try await flood(total)
        var expected = 0
        var batches = 0
        for try await batch in capture.batches {
            XCTAssertFalse(batch.isEmpty)
            batches += 1
            for i in batch.indices {
                XCTAssertEqual(Self.sequence(batch[i]), expected)
                expected += 1
            }
            if expected >= total { break }
        }
        XCTAssertEqual(expected, total)
        XCTAssertGreaterThan(batches, 0)
        let stats = try await capture.statistics()
        XCTAssertEqual(stats.delivered, UInt64(total))
        await capture.close()
    }

    private static func consume(_ capture: LiveCapture, _ total: Int) async throws -> (Int, [Packet]) {
        var n = 0
        var kept: [Packet] = []
        for try await p in capture.packets {
            XCTAssertEqual(sequence(p), n)
            if n == 0 { XCTAssertEqual(threadName(), "swiftcap-io", "the consumer does not run on the I/O thread") }
            if n % 1000 == 0 { kept.append(p) } // packets kept past their batch stay intact
            n += 1
            if n >= total { break }
        }
        return (n, kept)
    }

    func testStreamOnTheCaptureExecutor() async throws {
        let total = 20_000
        let capture = try await flood(total)
        let (n, kept) = try await withTaskExecutorPreference(capture.executor) {
            try await Self.consume(capture, total)
        }
        XCTAssertEqual(n, total)
        XCTAssertEqual(kept.map(Self.sequence), Array(stride(from: 0, to: total, by: 1000)))
        for p in kept { XCTAssertEqual(p.bytes.count, 60) }
        await capture.close()
        // After the close the executor forwards to the global one.
        let after = await withTaskExecutorPreference(capture.executor) { 42 }
        XCTAssertEqual(after, 42)
    }

    func testCopiedIteratorsSharePacketsWithoutLoss() async throws {
        let total = 5_000
        let capture = try await flood(total)
        var a = capture.packets.makeAsyncIterator()
        var seen: [Int] = []
        while seen.count < total / 2, let p = try await a.next() { seen.append(Self.sequence(p)) }
        // A copy of an iterator mid-batch: both see the rest of that batch (copies, not moves).
        var b = a
        if let pa = try await a.next(), let pb = try await b.next() {
            XCTAssertEqual(Self.sequence(pa), Self.sequence(pb))
            seen.append(Self.sequence(pa))
        }
        while seen.count < total, let p = try await a.next() { seen.append(Self.sequence(p)) }
        XCTAssertEqual(seen, Array(0 ..< total))
        await capture.close()
    }
}
