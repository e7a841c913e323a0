import Foundation
import Glibc
@_spi(Testing) import PacketCapture
import TestSupport
import XCTest

/// In immediate mode libpcap uses a TPACKET_V2 ring of fixed frames sized by the
/// snapshot length: with 262144 bytes the default 2 MiB buffer holds 8 frames
/// and a burst of more than 8 packets overflows it (tcpdump --immediate-mode
/// drops the same way). Immediate-mode tests that send bursts use a small snaplen.
let immediateSnapshotLength = 2048

/// Live captures on `lo` with the real helper and UDP traffic to 127.0.0.1.
final class LoopbackCaptureTests: XCTestCase {
    func testCaptureOnLoopbackDeliversPayloadMarkers() async throws {
        try requireRoot()
        let port = LoopbackTraffic.freePort()
        let capture = try await openLoopback(port: port)
        XCTAssertEqual(capture.interface, "lo")
        XCTAssertEqual(capture.linkType, .ethernet)
        XCTAssertEqual(capture.snapshotLength, immediateSnapshotLength)
        XCTAssertEqual(capture.timestampPrecision, .nanoseconds)
        XCTAssertTrue(capture.libpcapVersion.contains("libpcap"), capture.libpcapVersion)
        XCTAssertGreaterThan(capture.helperProcessID, 0)

        let markers = (0 ..< 10).map { "lo-marker-\($0)-\(port)" }
        let before = Date()
        try sendMarkers(markers, port: port)
        let packets = try await collect(capture, seconds: 5) { ps in markers.allSatisfy { seen($0, in: ps) } }
        for m in markers { XCTAssertTrue(seen(m, in: packets), "marker \(m) not captured") }
        for p in packets {
            XCTAssertEqual(p.linkType, .ethernet)
            XCTAssertEqual(p.wireLength, 14 + 20 + 8 + 64)
            XCTAssertEqual(p.captureLength, p.wireLength)
            XCTAssertEqual(p.interfaceIndex, 0)
            let ts = try XCTUnwrap(p.timestamp)
            XCTAssertLessThan(abs(ts.date.timeIntervalSince(before)), 10, "timestamp \(ts) far from now")
        }
        // Packets in order of their timestamps.
        let stamps = packets.compactMap(\.timestamp)
        XCTAssertEqual(stamps, stamps.sorted())
        await capture.close()
    }

    func testPacketStreamIteratesAndEndsOnClose() async throws {
        try requireRoot()
        let port = LoopbackTraffic.freePort()
        let capture = try await openLoopback(port: port)
        let markers = (0 ..< 20).map { "stream-\($0)-\(port)" }
        let consumer = Task { () -> [Packet] in
            var got: [Packet] = []
            for try await p in capture.packets {
                got.append(p)
            }
            return got
        }
        try sendMarkers(markers, port: port)
        XCTAssertNotNil(waitUntil(timeout: 5) { capture.deliveredCount >= 20 }, "20 packets not delivered")
        await capture.close()
        let got = try await consumer.value // the stream ends (nil) on close
        XCTAssertEqual(got.count, 20)
        for m in markers { XCTAssertTrue(seen(m, in: got), "marker \(m) missing") }
    }

    func testFilterChangedMidCaptureAndInvalidFilterKeepsTheOld() async throws {
        try requireRoot()
        let portA = LoopbackTraffic.freePort()
        var portB = LoopbackTraffic.freePort()
        while portB == portA { portB = LoopbackTraffic.freePort() }
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions {
            $0.filter = "udp port \(portA)"
            $0.timeout = .immediate
            $0.snapshotLength = immediateSnapshotLength
        })

        // Phase 1: only A passes.
        try sendMarkers(["p1-B"], port: portB)
        try sendMarkers(["p1-A"], port: portA)
        var packets = try await collect(capture, seconds: 5) { seen("p1-A", in: $0) }
        XCTAssertTrue(seen("p1-A", in: packets), "port A marker not captured before the change")
        XCTAssertFalse(seen("p1-B", in: packets), "port B passed the port A filter")

        // Phase 2: only B passes.
        try await capture.setFilter("udp port \(portB)")
        try sendMarkers(["p2-A"], port: portA)
        try sendMarkers(["p2-B"], port: portB)
        packets = try await collect(capture, seconds: 5) { seen("p2-B", in: $0) }
        XCTAssertTrue(seen("p2-B", in: packets), "port B marker not captured after setFilter")
        XCTAssertFalse(seen("p2-A", in: packets), "port A passed after the filter changed to port B")

        // Phase 3: an invalid filter is refused with pcap's message; B's filter stays.
        let error = await expectCaptureError(.filterInvalid, advice: ["pcap-filter(7)", "this is ((not a filter"]) {
            try await capture.setFilter("this is ((not a filter")
        }
        XCTAssertNotNil(error)
        try sendMarkers(["p3-A"], port: portA)
        try sendMarkers(["p3-B"], port: portB)
        packets = try await collect(capture, seconds: 5) { seen("p3-B", in: $0) }
        XCTAssertTrue(seen("p3-B", in: packets), "the old filter (port B) was lost after an invalid setFilter")
        XCTAssertFalse(seen("p3-A", in: packets), "port A passed after an invalid setFilter")
        await capture.close()
    }

    func testStatisticsCountReceivedAndDelivered() async throws {
        try requireRoot()
        let port = LoopbackTraffic.freePort()
        let capture = try await openLoopback(port: port)
        let zero = try await capture.statistics()
        XCTAssertEqual(zero.delivered, 0)
        XCTAssertEqual(zero.droppedByKernel, 0)

        let markers = (0 ..< 50).map { "stat-\($0)" }
        try sendMarkers(markers, port: port)
        let packets = try await collect(capture, seconds: 5) { $0.count >= 50 }
        XCTAssertEqual(packets.count, 50)
        let stats = try await capture.statistics()
        XCTAssertEqual(stats.delivered, 50)
        XCTAssertGreaterThanOrEqual(stats.received, 50)
        XCTAssertEqual(stats.droppedByKernel, 0)
        XCTAssertGreaterThanOrEqual(stats.sentByHelper, 50)
        await capture.close()
    }

    func testSnapshotLengthTruncates() async throws {
        try requireRoot()
        let port = LoopbackTraffic.freePort()
        let capture = try await openLoopback(port: port) { $0.snapshotLength = 100 }
        XCTAssertEqual(capture.snapshotLength, 100)
        try sendMarkers(["snap"], port: port, size: 500)
        let packets = try await collect(capture, seconds: 5) { !$0.isEmpty }
        let p = try XCTUnwrap(packets.first, "no packet captured")
        XCTAssertEqual(p.captureLength, 100)
        XCTAssertEqual(p.wireLength, 14 + 20 + 8 + 500)
        await capture.close()
    }

    func testTimestampPrecisions() async throws {
        try requireRoot()
        for precision in [TimestampPrecision.microseconds, .nanoseconds] {
            let port = LoopbackTraffic.freePort()
            let capture = try await openLoopback(port: port) { $0.timestampPrecision = precision }
            XCTAssertEqual(capture.timestampPrecision, precision)
            try sendMarkers((0 ..< 20).map { "ts\($0)" }, port: port)
            let packets = try await collect(capture, seconds: 5) { $0.count >= 20 }
            XCTAssertEqual(packets.count, 20)
            let subMicro = packets.compactMap(\.timestamp).filter { $0.nanoseconds % 1000 != 0 }.count
            if precision == .microseconds {
                XCTAssertEqual(subMicro, 0, "microsecond capture has sub-microsecond digits")
            } else {
                XCTAssertGreaterThan(subMicro, 0, "20 nanosecond timestamps all multiples of 1000")
            }
            await capture.close()
        }
    }

    /// Latency from send to delivery, per packet, for one timeout mode.
    private func latencies(_ timeout: CaptureTimeout, packets count: Int = 5, spacing: Double = 0.03) async throws -> [Double] {
        let port = LoopbackTraffic.freePort()
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions {
            $0.filter = "udp port \(port)"
            $0.timeout = timeout
        })
        let sender = Thread {
            _ = try? LoopbackTraffic.sendUDP(port: port, payload: LoopbackTraffic.payload("lat"), count: count, interval: spacing)
        }
        sender.start()
        var result: [Double] = []
        let end = Date().addingTimeInterval(5)
        while result.count < count, Date() < end {
            if let p = try await capture.next(timeout: .milliseconds(100)), let ts = p.timestamp {
                result.append(Date().timeIntervalSince(ts.date))
            }
        }
        await capture.close()
        return result
    }

    func testTimeoutModes() async throws {
        try requireRoot()
        let immediate = try await latencies(.immediate)
        XCTAssertEqual(immediate.count, 5)
        XCTAssertLessThan(immediate.max() ?? 99, 0.1, "immediate mode held a packet back: \(immediate)")

        // A 1 s buffer timeout holds packets until the block is retired.
        let buffered = try await latencies(.milliseconds(1000))
        XCTAssertEqual(buffered.count, 5)
        XCTAssertGreaterThan(buffered.max() ?? 0, 0.1, "a 1000 ms timeout delivered every packet at once: \(buffered)")
        XCTAssertLessThan(buffered.max() ?? 99, 2.5, "1000 ms timeout: \(buffered)")

        // `.never` (pcap_set_timeout(0)) holds packets until a ring block is full.
        let port = LoopbackTraffic.freePort()
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions {
            $0.filter = "udp port \(port)"
            $0.timeout = .never
        })
        try sendMarkers(["never-lone"], port: port)
        let lone = try await capture.next(timeout: .seconds(1))
        XCTAssertNil(lone, "timeout .never delivered a lone packet within 1 s")
        // Fill blocks: 4000 x 1 KiB (bounded) is more than the 2 MiB buffer.
        try LoopbackTraffic.sendUDP(port: port, payload: LoopbackTraffic.payload("never-fill", size: 1000), count: 4000)
        let filled = try await collect(capture, seconds: 5) { $0.count >= 100 }
        XCTAssertGreaterThanOrEqual(filled.count, 100, "full blocks were not delivered with timeout .never")
        await capture.close()
    }

    func testBufferSizeOption() async throws {
        try requireRoot()
        let port = LoopbackTraffic.freePort()
        let capture = try await openLoopback(port: port) { $0.bufferSize = 8 << 20 }
        try sendMarkers(["buf"], port: port)
        let packets = try await collect(capture, seconds: 5) { seen("buf", in: $0) }
        XCTAssertTrue(seen("buf", in: packets))
        await capture.close()

        _ = await expectCaptureError(.invalidArgument, advice: ["nil for libpcap's default"]) {
            try await LiveCapture.open(interface: "lo", options: try helperOptions { $0.bufferSize = 0 })
        }
    }

    func testDefaultDeviceAndDeviceList() async throws {
        try requireRoot()
        let devices = try await NetworkDevice.all(helperPath: BuiltProducts.helper())
        let lo = try XCTUnwrap(devices.first { $0.name == "lo" }, "lo not listed: \(devices.map(\.name))")
        XCTAssertTrue(lo.flags.contains(.loopback))
        XCTAssertTrue(lo.flags.contains(.up))
        XCTAssertTrue(lo.addresses.contains { $0.address?.description == "127.0.0.1" && $0.netmask?.description == "255.0.0.0" },
                      "lo addresses: \(lo.addresses)")
        let first = try await NetworkDevice.defaultDevice(helperPath: BuiltProducts.helper())
        XCTAssertEqual(first.name, devices.first?.name)

        // Opening without an interface uses that device.
        let capture = try await LiveCapture.open(options: try helperOptions())
        XCTAssertEqual(capture.interface, first.name)
        await capture.close()
    }

    func testFilterCompilerWithRealHelper() async throws {
        let programs = try await FilterCompiler.compile("udp port 53", linkTypes: [.ethernet, .raw, .ethernet],
                                                        helperPath: BuiltProducts.helper())
        XCTAssertEqual(Set(programs.keys), [.ethernet, .raw])
        XCTAssertGreaterThan(programs[.ethernet]?.instructions.count ?? 0, 3)
        XCTAssertNotEqual(programs[.ethernet], programs[.raw])
        _ = await expectCaptureError(.filterInvalid, advice: ["pcap-filter(7)", "link type 1"]) {
            try await FilterCompiler.compile("port port port", linkTypes: [.ethernet], helperPath: BuiltProducts.helper())
        }
    }

    func testFilterOptionsOptimizeNetmaskAndLengthLimit() async throws {
        try requireRoot()
        // "ip broadcast" needs the netmask: without it pcap refuses the filter.
        _ = await expectCaptureError(.filterInvalid, advice: ["netmask", "pcap-filter(7)"]) {
            try await LiveCapture.open(interface: "lo", options: try helperOptions { $0.filter = "ip broadcast" })
        }
        let broadcast = try await LiveCapture.open(interface: "lo", options: try helperOptions {
            $0.filter = "ip broadcast"
            $0.netmask = 0xFF00_0000
        })
        await broadcast.close()

        // Unoptimized, the same filter still selects the same packets.
        let port = LoopbackTraffic.freePort()
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions {
            $0.filter = "udp port \(port) and udp port \(port)"
            $0.optimizeFilter = false
        })
        try sendMarkers(["unopt"], port: port)
        try sendMarkers(["other"], port: port &+ 1)
        let packets = try await collect(capture, seconds: 5) { seen("unopt", in: $0) }
        XCTAssertTrue(seen("unopt", in: packets))
        XCTAssertFalse(seen("other", in: packets))
        try await capture.setFilter("udp port \(port)", optimize: false, netmask: 0xFF00_0000)
        await capture.close()
        let optimized = try await FilterCompiler.compile("udp port 53 and udp port 53", linkTypes: [.ethernet], helperPath: BuiltProducts.helper())
        let unoptimized = try await FilterCompiler.compile("udp port 53 and udp port 53", linkTypes: [.ethernet], optimize: false,
                                                          helperPath: BuiltProducts.helper())
        XCTAssertLessThan(optimized[.ethernet]!.instructions.count, unoptimized[.ethernet]!.instructions.count)

        // A custom length limit applies before anything is spawned.
        _ = await expectCaptureError(.filterTooLong, advice: ["over the limit of 10"]) {
            try await LiveCapture.open(interface: "lo", options: try helperOptions {
                $0.filter = "udp port 12345"
                $0.filterLengthLimit = 10
            })
        }
    }

    /// A 60000-byte datagram makes a frame larger than a quarter of a read
    /// chunk, so it spans reads; it must arrive whole.
    func testLargePacketsSpanningReadsArriveWhole() async throws {
        try requireRoot()
        let port = LoopbackTraffic.freePort()
        let capture = try await LiveCapture.open(interface: "lo", options: try helperOptions {
            $0.filter = "udp port \(port)"
        })
        var payload = LoopbackTraffic.payload("big-start", size: 60_000)
        payload.replaceSubrange(59_990 ..< 60_000, with: Array("big-end-42".utf8))
        for _ in 0 ..< 12 { try LoopbackTraffic.sendUDP(port: port, payload: payload, count: 1) }
        let packets = try await collect(capture, seconds: 5) { $0.count >= 12 }
        XCTAssertEqual(packets.count, 12)
        for p in packets {
            XCTAssertEqual(p.captureLength, 42 + 60_000)
            XCTAssertEqual(Array(p.bytes.suffix(60_000)), payload)
        }
        await capture.close()
    }
}
