import Foundation
import Glibc
import PacketCapture
import Synchronization
import TestSupport
import XCTest

/// The async APIs of a stream `CaptureFile` make their blocking `read(2)` calls
/// on a thread of the file's own, never on the cooperative pool (issue 11,
/// "Iteration"): more stalled pipes than the pool has threads must not stop
/// other tasks.
final class FilesAsyncStreamTests: XCTestCase {
    /// A pcap header and one 60-byte packet: a reader takes it, then waits for more.
    private static let start = Pcap.file(records: []) + {
        var b = ByteBuilder()
        b.u32(1); b.u32(0); b.u32(60); b.u32(60)
        return b.bytes + payload(60)
    }()

    private struct StalledPipe {
        let readEnd: Int32
        let writeEnd: Int32
    }

    private func stalledPipes(_ count: Int) throws -> [StalledPipe] {
        var pipes: [StalledPipe] = []
        for _ in 0 ..< count {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw TestSupportError("pipe: \(String(cString: strerror(errno)))") }
            let written = Self.start.withUnsafeBytes { write(fds[1], $0.baseAddress!, $0.count) }
            guard written == Self.start.count else { throw TestSupportError("short write to a fresh pipe") }
            pipes.append(StalledPipe(readEnd: fds[0], writeEnd: fds[1]))
        }
        return pipes
    }

    /// The write ends, closed once (by the test or by its watchdog).
    private final class Writers: Sendable {
        let fds: [Int32]
        let closed = Atomic<Bool>(false)
        let watchdogFired = Atomic<Bool>(false)

        init(_ fds: [Int32]) { self.fds = fds }

        var released: Bool { closed.load(ordering: .sequentiallyConsistent) }

        /// Closes the write ends (the readers then see the end); true if this call did.
        @discardableResult
        func release() -> Bool {
            guard !closed.exchange(true, ordering: .sequentiallyConsistent) else { return false }
            for fd in fds { close(fd) }
            return true
        }
    }

    /// Bytes written to the pipe that no reader has taken yet (FIONREAD).
    private func unread(_ fd: Int32) -> Int32 {
        var n: Int32 = 0
        return ioctl(fd, UInt(FIONREAD), &n) == 0 ? n : -1
    }

    func testStalledPipesReadThroughPacketsLeaveTheCooperativePoolFree() async throws {
        // More readers than the pool has threads: if each blocked one, nothing else could run.
        let readers = ProcessInfo.processInfo.activeProcessorCount + 2
        let pipes = try stalledPipes(readers)
        let writers = Writers(pipes.map(\.writeEnd))
        // Whatever happens below, the writers close within 30 s, so the test ends.
        let watchdog = Thread {
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline && !writers.released { usleep(20_000) }
            if writers.release() { writers.watchdogFired.store(true, ordering: .sequentiallyConsistent) }
        }
        watchdog.start()
        defer {
            writers.release()
            for p in pipes { close(p.readEnd) }
        }

        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for p in pipes {
                group.addTask {
                    let file = try CaptureFile(fileDescriptor: p.readEnd, path: "pipe \(p.readEnd)")
                    var n = 0
                    for try await packet in file.packets {
                        XCTAssertEqual(packet.captureLength, 60)
                        n += 1
                    }
                    return n
                }
            }
            // Every reader has taken its pipe's bytes: each is now in, or about to
            // enter, a read(2) that waits for the writer.
            let deadline = Date().addingTimeInterval(20)
            while pipes.contains(where: { unread($0.readEnd) != 0 }) && Date() < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            XCTAssertFalse(pipes.contains { unread($0.readEnd) != 0 }, "every reader started within 20 s")
            XCTAssertFalse(writers.watchdogFired.load(ordering: .sequentiallyConsistent), "the readers blocked the pool")

            // Work on the pool runs while every writer stalls.
            let probes = try await withThrowingTaskGroup(of: Int.self) { probes in
                for i in 0 ..< 2 * readers { probes.addTask { try await Task.sleep(for: .milliseconds(1)); return i } }
                return try await probes.reduce(0, +)
            }
            XCTAssertEqual(probes, (0 ..< 2 * readers).reduce(0, +))
            XCTAssertFalse(writers.watchdogFired.load(ordering: .sequentiallyConsistent),
                           "tasks on the cooperative pool waited for the stalled pipes")

            writers.release()
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        XCTAssertEqual(counts, Array(repeating: 1, count: readers))
    }
}
