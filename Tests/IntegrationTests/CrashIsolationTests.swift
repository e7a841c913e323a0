import Foundation
import Glibc
@_spi(Testing) import PacketCapture
import TestSupport
import XCTest

/// A crashing helper must not take the client down, and a dying client must
/// take its helper down: both within 100 ms.
final class CrashIsolationTests: XCTestCase {
    private func helperDeathIsReported(_ signal: Int32, name: String) async throws {
        try requireRoot()
        let port = LoopbackTraffic.freePort()
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions {
            $0.filter = "udp port \(port)"
        })
        let pid = capture.helperProcessID
        // A consumer waiting on the stream, as an application would have.
        let consumer = Task { () -> (CaptureError?, Date) in
            do throws(CaptureError) {
                for try await _ in capture.packets {}
                return (nil, Date())
            } catch {
                return (error, Date())
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let killedAt = Date()
        XCTAssertEqual(kill(pid, signal), 0)
        let (error, failedAt) = await consumer.value
        let latency = failedAt.timeIntervalSince(killedAt)
        let e = try XCTUnwrap(error, "the stream ended without an error after \(name)")
        XCTAssertEqual(e.code, .helperTerminated)
        XCTAssertEqual(e.termination, .signaled(signal: signal))
        XCTAssertEqual(e.termination?.signalName, name)
        XCTAssertTrue(e.message.contains("swiftcap-helper (pid \(pid)) was killed by signal \(name)"), e.message)
        XCTAssertTrue(e.message.contains("open a new one"), e.message)
        XCTAssertLessThan(latency, 0.5, "\(name) reported after \(latency) s (promptly: not by a 5 s request deadline)")
        print("\(name): helperTerminated after \(String(format: "%.1f", latency * 1000)) ms")
        XCTAssertTrue(processIsDead(pid))
        XCTAssertNotNil(waitUntil(timeout: 1) { capture.helperFinished })

        // The client goes on: a new capture works.
        let again = try await LiveCapture.open(interface: "lo", options: try helperOptions {
            $0.filter = "udp port \(port)"
        })
        try sendMarkers(["after-\(name)"], port: port)
        let packets = try await collect(again, seconds: 5) { seen("after-\(name)", in: $0) }
        XCTAssertTrue(seen("after-\(name)", in: packets), "no capture after the helper was killed by \(name)")
        await again.close()
        await capture.close() // closing a dead capture is fine
    }

    func testHelperKilledBySIGKILL() async throws {
        try await helperDeathIsReported(SIGKILL, name: "SIGKILL")
    }

    func testHelperKilledBySIGSEGV() async throws {
        try await helperDeathIsReported(SIGSEGV, name: "SIGSEGV")
    }

    func testNextTimeoutReportsHelperDeath() async throws {
        try requireRoot()
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions { $0.filter = "udp port 9" })
        let waiter = Task { () -> (CaptureError?, Date) in
            do throws(CaptureError) {
                _ = try await capture.next(timeout: .seconds(10))
                return (nil, Date())
            } catch {
                return (error, Date())
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let t0 = Date()
        kill(capture.helperProcessID, SIGKILL)
        let (error, at) = await waiter.value
        XCTAssertEqual(error?.code, .helperTerminated)
        XCTAssertLessThan(at.timeIntervalSince(t0), 0.5, "reported by the exit watch, not by a deadline")
    }

    func testClientKilledTakesTheHelperDown() throws {
        try requireRoot()
        let cli = try BuiltProducts.cli()
        let client = try ChildProcess([cli, "capture", "-i", "lo", "--helper", try BuiltProducts.helper(), "udp", "port", "9"])
        XCTAssertTrue(client.waitForStderr(timeout: 10) { $0.contains("listening on lo") }, "CLI did not start: \(client.stderr)")
        let helper = try XCTUnwrap(child(of: client.pid, named: "swiftcap-helper"), "no helper child of the CLI")
        let killedAt = Date()
        client.send(SIGKILL)
        let took = waitUntil(timeout: 2) { processIsDead(helper) }
        let latency = try XCTUnwrap(took, "helper \(helper) still alive 2 s after its client was killed")
        XCTAssertLessThan(latency, 0.5, "helper outlived its client by \(latency) s")
        print("client SIGKILL: helper gone after \(String(format: "%.1f", Date().timeIntervalSince(killedAt) * 1000)) ms")
        client.wait()
    }
}
