import SwiftcapWire
import XCTest

/// Bad input table: each malformed frame is rejected with a typed violation of
/// the expected kind, without crashing, hanging or allocating the claimed size.
///
/// | input                                   | expected kind   |
/// |-----------------------------------------|-----------------|
/// | length field 0                          | badLength       |
/// | length field 0xFFFFFFFF / bound + 1     | oversized       |
/// | unknown type byte (0x00, 0x02, 0xFF)    | unknownType     |
/// | payload shorter than a field (each type)| truncated       |
/// | trailing bytes after the last field     | badField        |
/// | bool field = 2                          | badField        |
/// | enum field out of range (timeout mode,  | badField        |
/// |   direction, precision)                 |                 |
/// | snaplen 0 / above 262144                | badField        |
/// | packet caplen ≠ bytes present           | badField        |
/// | packet caplen > wirelen                 | badField        |
/// | packet nanoseconds ≥ 1e9                | badField        |
/// | string not UTF-8                        | badField        |
/// | string length beyond payload            | truncated       |
/// | device count beyond payload             | badField        |
/// | program count 0 / 4097 / size mismatch  | badField        |
/// | inject with no bytes                    | badField        |
final class WireMalformedInputTests: XCTestCase {
    func frame(_ type: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count + 1)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type] + payload
    }

    func assertViolation(_ bytes: [UInt8], _ kind: ProtocolViolation.Kind, _ label: String,
                         file: StaticString = #filePath, line: UInt = #line) {
        do {
            let result = try WireMessage.decodeFrame(bytes)
            XCTFail("\(label): expected \(kind), decoded \(String(describing: result))", file: file, line: line)
        } catch {
            XCTAssertEqual(error.kind, kind, "\(label): \(error)", file: file, line: line)
            XCTAssertFalse(error.reason.isEmpty, label, file: file, line: line)
        }
    }

    func testHeaderViolationsAreDetectedBeforeThePayloadArrives() {
        assertViolation([0, 0, 0, 0], .badLength, "zero length")
        // Only the 4 length bytes: rejected at once, never waits for 4 GiB.
        assertViolation([0xFF, 0xFF, 0xFF, 0xFF], .oversized, "length 0xFFFFFFFF")
        let over = UInt32(Wire.maxFrameLength + 1)
        assertViolation([UInt8(over >> 24), UInt8(over >> 16 & 0xFF), UInt8(over >> 8 & 0xFF), UInt8(over & 0xFF)], .oversized, "bound + 1")
        for t: UInt8 in [0x00, 0x02, 0x19, 0x30, 0xFF] {
            // Only length + type, no payload yet: the type alone is enough to reject.
            assertViolation([0, 0, 0, 9, t], .unknownType, "type \(t)")
        }
    }

    func testExactlyTheBoundIsAccepted() throws {
        let bytes = frame(FrameType.inject.rawValue, Array(repeating: 1, count: Wire.maxPayloadLength))
        XCTAssertNotNil(try WireMessage.decodeFrame(bytes))
    }

    func testIncompleteFramesAskForMoreInsteadOfFailing() throws {
        let full = WireMessage.hello(Hello(libpcapVersion: "x")).encoded()
        for n in 0 ..< full.count {
            XCTAssertNil(try WireMessage.decodeFrame(Array(full[..<n])), "prefix of \(n) bytes")
        }
    }

    func testEveryTruncationOfEveryPayloadIsRejected() {
        for message in WireRoundTripTests.samples {
            let bytes = message.encoded()
            let payload = Array(bytes[5...])
            // Cutting the 256 KiB samples at every byte only repeats the short cases.
            guard !payload.isEmpty, payload.count < 4096 else { continue }
            for cut in 0 ..< payload.count {
                let short = frame(bytes[4], Array(payload[..<cut]))
                do {
                    let decoded = try WireMessage.decodeFrame(short)
                    // A cut inside variable-length data (inject, packet bytes) may still be
                    // a valid, shorter frame: it must then not equal the original.
                    if let decoded { XCTAssertNotEqual(decoded.0, message, "\(message.frameType) cut at \(cut)") }
                } catch {
                    XCTAssertTrue([.truncated, .badField].contains(error.kind), "\(message.frameType) cut at \(cut): \(error)")
                }
            }
        }
    }

    func testTrailingBytesAreRejected() {
        for message in WireRoundTripTests.samples {
            switch message {
            case .inject, .packet: continue // their payload ends with free-length bytes
            default: break
            }
            let bytes = message.encoded()
            assertViolation(frame(bytes[4], Array(bytes[5...]) + [0]), .badField, "\(message.frameType) + 1 byte")
        }
    }

    func testOutOfDomainFields() {
        let open = WireMessage.open(OpenRequest(device: "lo")).encoded()
        // Offsets in the open payload: device string (4 + 2), snaplen 4, promisc 1, mode 1, timeout 4, buffer 4, monitor 1, direction 1, precision 1.
        let base = 5 + 6
        func patched(_ offset: Int, _ values: [UInt8]) -> [UInt8] {
            var b = open
            b.replaceSubrange(base + offset ..< base + offset + values.count, with: values)
            return b
        }
        assertViolation(patched(0, [0, 0, 0, 0]), .badField, "snaplen 0")
        assertViolation(patched(0, [0, 4, 0, 1]), .badField, "snaplen 262145")
        assertViolation(patched(4, [2]), .badField, "promiscuous = 2")
        assertViolation(patched(5, [3]), .badField, "timeout mode 3")
        assertViolation(patched(14, [2]), .badField, "monitor = 2")
        assertViolation(patched(15, [3]), .badField, "direction 3")
        assertViolation(patched(16, [2]), .badField, "precision 2")

        let t = FrameType.packet.rawValue
        func packet(sec: UInt64 = 0, nsec: UInt32 = 0, caplen: UInt32, wirelen: UInt32, bytes: Int) -> [UInt8] {
            var w = ByteWriter()
            w.u64(sec); w.u32(nsec); w.u32(caplen); w.u32(wirelen)
            return frame(t, w.bytes + Array(repeating: 0, count: bytes))
        }
        assertViolation(packet(caplen: 5, wirelen: 5, bytes: 4), .badField, "caplen > bytes present")
        assertViolation(packet(caplen: 3, wirelen: 5, bytes: 4), .badField, "caplen < bytes present")
        assertViolation(packet(caplen: 4, wirelen: 3, bytes: 4), .badField, "caplen > wirelen")
        assertViolation(packet(nsec: 1_000_000_000, caplen: 1, wirelen: 1, bytes: 1), .badField, "nanoseconds 1e9")
        assertViolation(frame(t, Array(repeating: 0, count: 19)), .truncated, "packet header cut")

        assertViolation(frame(FrameType.hello.rawValue, [0, 2, 0, 0, 0, 2, 0xC3, 0x28]), .badField, "invalid UTF-8")
        assertViolation(frame(FrameType.hello.rawValue, [0, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0x41]), .truncated, "string claims 4 GiB")
        assertViolation(frame(FrameType.devices.rawValue, [0x10, 0, 0, 0]), .badField, "device count 2^28")
        assertViolation(frame(FrameType.injectBatch.rawValue, [0, 0, 0, 0]), .badField, "inject batch of 0 packets")
        assertViolation(frame(FrameType.injectBatch.rawValue, [0x10, 0, 0, 0, 0, 0, 0, 1, 7]), .badField, "inject batch count 2^28")
        assertViolation(frame(FrameType.injectBatch.rawValue, [0, 0, 0, 1, 0, 0, 0, 0]), .badField, "inject batch packet of 0 bytes")
        assertViolation(frame(FrameType.injectBatch.rawValue, [0, 0, 0, 1, 0, 0, 0, 9, 1, 2]), .badField, "inject batch packet longer than the payload")
        assertViolation(frame(FrameType.deviceDetails.rawValue, [0x10, 0, 0, 0]), .badField, "link type count 2^28")
        assertViolation(frame(FrameType.program.rawValue, [0, 0, 0, 1, 0, 0, 0, 0]), .badField, "program with 0 instructions")
        assertViolation(frame(FrameType.program.rawValue, [0, 0, 0, 1, 0, 0, 0x10, 0x01] + Array(repeating: 0, count: 8 * 4097)),
                        .badField, "program with 4097 instructions")
        assertViolation(frame(FrameType.program.rawValue, [0, 0, 0, 1, 0, 0, 0, 2] + Array(repeating: 0, count: 8)),
                        .badField, "program count larger than its bytes")
        assertViolation(frame(FrameType.inject.rawValue, []), .badField, "inject without bytes")
        assertViolation(frame(FrameType.error.rawValue, [0, 4, 2, 0, 0, 0, 0]), .badField, "error fatal = 2")
    }

    func testUnknownErrorCodeDecodesAsInternal() throws {
        let bytes = frame(FrameType.error.rawValue, [0xBE, 0xEF, 0, 0, 0, 0, 1, 0x41])
        let decoded = try XCTUnwrap(try WireMessage.decodeFrame(bytes))
        XCTAssertEqual(decoded.0, .error(WireError(code: .internal, fatal: false, message: "A")))
    }

    func testRandomGarbageNeverCrashes() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0 ..< 20_000 {
            let n = Int.random(in: 0 ... 64, using: &rng)
            var bytes = (0 ..< n).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
            if n >= 5, Bool.random(using: &rng) {
                // Plausible header so the payload decoders get exercised, not just the scanner.
                let len = UInt32(n - 4)
                bytes[0] = 0; bytes[1] = 0; bytes[2] = UInt8(len >> 8); bytes[3] = UInt8(len & 0xFF)
                bytes[4] = FrameType.allCases.randomElement(using: &rng)!.rawValue
            }
            _ = try? WireMessage.decodeFrame(bytes)
        }
    }
}
