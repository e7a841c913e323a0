import SwiftcapWire
import XCTest

/// Every frame type encodes and decodes back to itself, alone and back to back.
final class WireRoundTripTests: XCTestCase {
    static let samples: [WireMessage] = [
        .hello(Hello(libpcapVersion: "libpcap version 1.10.3 (with TPACKET_V3)")),
        .open(OpenRequest(device: "lo")),
        .open(OpenRequest(device: "veth-ß", snapshotLength: 96, promiscuous: false, timeoutMode: .immediate,
                          timeoutMilliseconds: 0, bufferSize: 4 << 20, monitorMode: true, direction: .in,
                          timestampPrecision: .microseconds,
                          filter: FilterSpec(expression: "udp port 53", optimize: false, netmask: 0xFFFF_FF00))),
        .open(OpenRequest(device: "eth0", timeoutMode: .never, direction: .out)),
        .inject([0xFF, 0x00, 0x7F]),
        .inject(Array(repeating: 0xAB, count: Wire.maxSnapshotLength)),
        .setFilter(FilterSpec(expression: "tcp[tcpflags] & tcp-syn != 0")),
        .statisticsRequest,
        .close,
        .listDevices,
        .describeDevice("any"),
        .injectBatch(WireInjectBatch(packets: [[1], [2, 3], Array(repeating: 9, count: 1500)])),
        .injectedBatch(WireInjectResult(sent: 2, bytes: 3, failed: 1, firstError: "send: Message too long")),
        .deviceDetails(WireDeviceDetails(linkTypes: [WireChoice(value: 276, name: "LINUX_SLL2", description: "Linux cooked v2")],
                                         timestampTypes: [WireChoice(value: 0, name: "host", description: "Host"),
                                                          WireChoice(value: -1, name: "x", description: "")])),
        .open(OpenRequest(device: "any", linkTypeName: "LINUX_SLL2", timestampTypeName: "adapter_unsynced")),
        .compileFilter(CompileRequest(linkType: 1, snapshotLength: 65535, filter: FilterSpec(expression: "ip6"))),
        .ready(Ready(linkType: 1, snapshotLength: 262_144, timestampPrecision: .nanoseconds)),
        .ready(Ready(linkType: 113, snapshotLength: 64, timestampPrecision: .microseconds, warning: "promiscuous mode not supported")),
        .packet(PacketHeader(seconds: 1_700_000_000, nanoseconds: 999_999_999, captureLength: 3, wireLength: 1500), [1, 2, 3]),
        .packet(PacketHeader(seconds: -1, nanoseconds: 0, captureLength: 0, wireLength: 0), []),
        .packet(PacketHeader(seconds: 0, nanoseconds: 1, captureLength: UInt32(Wire.maxSnapshotLength), wireLength: UInt32.max),
                Array(repeating: 7, count: Wire.maxSnapshotLength)),
        .injected(42),
        .filterSet,
        .statistics(WireStatistics(received: .max, droppedByKernel: 1, droppedByInterface: 2, sentByHelper: 3)),
        .devices([]),
        .devices([
            WireDevice(name: "lo", description: "", flags: 0x7, addresses: [
                WireAddress(family: 2, address: [127, 0, 0, 1], netmask: [255, 0, 0, 0]),
                WireAddress(family: 10, address: Array(repeating: 0, count: 15) + [1], netmask: Array(repeating: 0xFF, count: 16)),
            ]),
            WireDevice(name: "veth0", description: "a veth", flags: 0x36, addresses: [
                WireAddress(family: 2, address: [10, 0, 0, 1], netmask: [255, 255, 255, 252], broadcast: [10, 0, 0, 3]),
                WireAddress(family: 2, address: [10, 0, 0, 5], destination: [10, 0, 0, 6]),
            ]),
        ]),
        .program(WireProgram(linkType: 1, instructions: [
            WireInstruction(code: 0x28, jt: 0, jf: 0, k: 12),
            WireInstruction(code: 0x15, jt: 0, jf: 1, k: 0x800),
            WireInstruction(code: 0x06, jt: 0, jf: 0, k: 262_144),
            WireInstruction(code: 0x06, jt: 0, jf: 0, k: 0),
        ])),
        .end,
        .error(WireError(code: .filterInvalid, fatal: false, message: "syntax error in filter expression")),
        .error(WireError(code: .noSuchDevice, fatal: true, message: "nope0: No such device exists")),
    ]

    func testEveryFrameTypeIsCovered() {
        let covered = Set(Self.samples.map(\.frameType))
        XCTAssertEqual(covered, Set(FrameType.allCases), "a frame type has no round-trip sample")
    }

    func testEachMessageRoundTrips() throws {
        for message in Self.samples {
            let bytes = message.encoded()
            let decoded = try XCTUnwrap(try WireMessage.decodeFrame(bytes), "\(message.frameType) did not decode")
            XCTAssertEqual(decoded.0, message)
            XCTAssertEqual(decoded.1, bytes.count, "\(message.frameType) frame length")
            XCTAssertEqual(bytes[4], message.frameType.rawValue)
        }
    }

    func testBackToBackFramesSplitAtEveryByteBoundary() throws {
        var stream: [UInt8] = []
        let messages = Self.samples.filter { if case .packet(_, let b) = $0 { b.count < 100 } else { true } }
            .filter { if case .inject(let b) = $0 { b.count < 100 } else { true } }
        for m in messages { m.encode(into: &stream) }
        // Feed the stream through an incremental buffer cut at every position.
        for cut in stride(from: 0, through: stream.count, by: 7) {
            var pending = Array(stream[..<cut])
            var decoded: [WireMessage] = []
            func drain() throws {
                var start = 0
                try pending.withUnsafeBytes { buf in
                    while let frame = try FrameScanner.nextFrame(in: buf, from: start) {
                        decoded.append(try WireMessage.decode(frame.type, payload: frame.payload, in: buf))
                        start = frame.end
                    }
                }
                pending.removeFirst(start)
            }
            try drain()
            pending += stream[cut...]
            try drain()
            XCTAssertEqual(decoded, messages, "split at \(cut)")
            XCTAssertTrue(pending.isEmpty)
        }
    }

    func testPacketFastPathHeaderMatchesGenericEncoding() throws {
        let header = PacketHeader(seconds: 1_234_567_890, nanoseconds: 123_456_789, captureLength: 4, wireLength: 60)
        let payload: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF]
        var fast = [UInt8](repeating: 0, count: PacketFrame.size(captureLength: 4))
        fast.withUnsafeMutableBytes { PacketFrame.writeHeader(header, to: $0.baseAddress!) }
        fast.replaceSubrange(25..., with: payload)
        XCTAssertEqual(fast, WireMessage.packet(header, payload).encoded())
        let decoded = try fast.withUnsafeBytes { buf in
            try PacketHeader.decode(payload: 5 ..< buf.count, in: buf)
        }
        XCTAssertEqual(decoded, header)
    }
}
