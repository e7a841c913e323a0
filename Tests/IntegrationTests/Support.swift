import Foundation
import Glibc
@_spi(Testing) import PacketCapture
import TestSupport
import XCTest

/// Options for a capture with the built helper.
func helperOptions(_ configure: (inout CaptureOptions) -> Void = { _ in }) throws -> CaptureOptions {
    var o = CaptureOptions()
    o.helperPath = try BuiltProducts.helper()
    configure(&o)
    return o
}

/// Opens `lo` for UDP to `port` in immediate mode with a snapshot length small
/// enough for immediate mode's ring; `configure` adjusts the rest.
func openLoopback(port: UInt16, _ configure: (inout CaptureOptions) -> Void = { _ in }) async throws -> LiveCapture {
    try await LiveCapture.open(interface: "lo", options: try helperOptions {
        $0.filter = "udp port \(port)"
        $0.timeout = .immediate
        $0.snapshotLength = immediateSnapshotLength
        configure(&$0)
    })
}

/// Takes packets with `next(timeout:)` until `done` holds for what was
/// collected or `seconds` pass. Bounded.
func collect(_ capture: LiveCapture, seconds: Double, until done: ([Packet]) -> Bool = { _ in false }) async throws -> [Packet] {
    var packets: [Packet] = []
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if let p = try await capture.next(timeout: .milliseconds(50)) {
            packets.append(p)
            if done(packets) { break }
        }
    }
    return packets
}

/// Whether any packet's bytes contain `marker`.
func seen(_ marker: String, in packets: [Packet]) -> Bool {
    let m = Array(marker.utf8)
    return packets.contains { contains($0.bytes, m) }
}

/// Expects `body` to throw a `CaptureError` with `code` whose message contains
/// every one of `advice` (the "what to do" part).
func expectCaptureError<T>(_ code: CaptureError.Code, advice: [String], file: StaticString = #filePath, line: UInt = #line,
                           _ body: () async throws -> T) async -> CaptureError? {
    do {
        _ = try await body()
        XCTFail("expected a CaptureError \(code), got success", file: file, line: line)
        return nil
    } catch let error as CaptureError {
        XCTAssertEqual(error.code, code, "wrong code; message: \(error.message)", file: file, line: line)
        for a in advice {
            XCTAssertTrue(error.message.contains(a), "message lacks \"\(a)\": \(error.message)", file: file, line: line)
        }
        return error
    } catch {
        XCTFail("expected a CaptureError \(code), got \(error)", file: file, line: line)
        return nil
    }
}

/// Iterates `packets` until it throws; returns what came before and the error.
func drainUntilError(_ capture: LiveCapture, seconds: Double = 10) async -> ([Packet], CaptureError?) {
    let task = Task { () -> ([Packet], CaptureError?) in
        var got: [Packet] = []
        do throws(CaptureError) {
            for try await p in capture.packets { got.append(p) }
            return (got, nil)
        } catch {
            return (got, error)
        }
    }
    let timeout = Task { try await Task.sleep(for: .seconds(seconds)); task.cancel() }
    let result = await task.value
    timeout.cancel()
    return result
}

/// Sends one UDP datagram per marker to 127.0.0.1:port.
func sendMarkers(_ markers: [String], port: UInt16, size: Int = 64) throws {
    for m in markers {
        try LoopbackTraffic.sendUDP(port: port, payload: LoopbackTraffic.payload(m, size: size), count: 1)
    }
}

/// Threads of this process named `swiftcap-io` (the captures' I/O threads).
func ioThreadCount() -> Int {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.filter { t in
        (try? String(contentsOfFile: "/proc/self/task/\(t)/comm", encoding: .utf8))?.hasPrefix("swiftcap-io") == true
    }.count
}

/// Whether `pid` is gone for good: no process, or only a zombie waiting for init.
func processIsDead(_ pid: Int32) -> Bool {
    guard let state = ProcFS.state(of: pid) else { return true }
    return state == "Z" || state == "X"
}

/// The first child of `pid` whose command name is `name`, waiting up to `timeout` seconds.
func child(of pid: Int32, named name: String, timeout: Double = 5) -> Int32? {
    var found: Int32?
    _ = waitUntil(timeout: timeout) {
        found = ProcFS.children(of: pid).first { c in
            (try? String(contentsOfFile: "/proc/\(c)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == String(name.prefix(15))
        }
        return found != nil
    }
    return found
}

extension Timestamp {
    var date: Date { Date(timeIntervalSince1970: Double(seconds) + Double(nanoseconds) / 1e9) }
}
