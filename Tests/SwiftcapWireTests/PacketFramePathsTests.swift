import Foundation
import SwiftcapWire
import XCTest

/// The client's fast path (`PacketFrame.parse`) and the generic path
/// (`FrameScanner` + `WireMessage.decode`) agree on every input: the fuzz
/// corpus of the wire decoder, and mutations of valid packet streams.
final class PacketFramePathsTests: XCTestCase {
    /// What each path makes of the bytes at `offset`: a packet and its end, or not a packet.
    private enum Verdict: Equatable {
        case packet(PacketHeader, [UInt8], end: Int)
        case notAPacket
    }

    private func fast(_ bytes: [UInt8], at offset: Int) -> Verdict {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, let (header, size) = PacketFrame.parse(base + offset, available: raw.count - offset) else {
                return .notAPacket
            }
            return .packet(header, Array(bytes[(offset + PacketFrame.headerSize) ..< (offset + size)]), end: offset + size)
        }
    }

    private func generic(_ bytes: [UInt8], at offset: Int) -> Verdict {
        bytes.withUnsafeBytes { raw in
            do throws(ProtocolViolation) {
                guard let frame = try FrameScanner.nextFrame(in: raw, from: offset),
                      case .packet(let header, let data) = try WireMessage.decode(frame.type, payload: frame.payload, in: raw) else {
                    return .notAPacket
                }
                return .packet(header, data, end: frame.end)
            } catch {
                return .notAPacket
            }
        }
    }

    /// Checks agreement at every frame boundary the generic path finds, and at
    /// every offset of the first 64 bytes (misaligned starts).
    private func assertAgree(_ bytes: [UInt8], _ label: String) -> Int {
        var checked = 0
        var offsets = Set(0 ..< min(64, bytes.count))
        var offset = 0
        while offset < bytes.count {
            offsets.insert(offset)
            let next: Int? = bytes.withUnsafeBytes { raw in (try? FrameScanner.nextFrame(in: raw, from: offset))??.end }
            guard let next else { break }
            offset = next
        }
        for o in offsets.sorted() {
            XCTAssertEqual(fast(bytes, at: o), generic(bytes, at: o), "\(label) at offset \(o)")
            checked += 1
        }
        return checked
    }

    func testBothPathsAgreeOnTheFuzzCorpus() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/wire-decoder")
        let files = try FileManager.default.contentsOfDirectory(at: corpus, includingPropertiesForKeys: nil)
        XCTAssertGreaterThan(files.count, 5, "the wire-decoder corpus is missing at \(corpus.path)")
        var checked = 0
        for file in files {
            checked += assertAgree(Array(try Data(contentsOf: file)), file.lastPathComponent)
        }
        XCTAssertGreaterThan(checked, 100)
    }

    func testBothPathsAgreeOnMutatedPacketStreams() {
        var generator = SystemRandomNumberGenerator()
        var checked = 0
        var packets = 0
        for round in 0 ..< 2000 {
            var stream: [UInt8] = []
            for i in 0 ..< Int.random(in: 1 ... 4, using: &generator) {
                let data = (0 ..< Int.random(in: 0 ... 40, using: &generator)).map { UInt8(truncatingIfNeeded: $0 &+ i) }
                let header = PacketHeader(seconds: Int64.random(in: -5 ... 2_000_000_000, using: &generator),
                                          nanoseconds: UInt32.random(in: 0 ..< 1_000_000_000, using: &generator),
                                          captureLength: UInt32(data.count), wireLength: UInt32(data.count + Int.random(in: 0 ... 3, using: &generator)))
                WireMessage.packet(header, data).encode(into: &stream)
            }
            if round % 4 == 0 { WireMessage.filterSet.encode(into: &stream) }
            // Flip a byte of the fixed fields or the length, or cut the stream short.
            for _ in 0 ..< Int.random(in: 0 ... 2, using: &generator) {
                let at = Int.random(in: 0 ..< min(stream.count, 30), using: &generator)
                stream[at] = UInt8.random(in: 0 ... 255, using: &generator)
            }
            if round % 3 == 0 { stream.removeLast(Int.random(in: 0 ... min(10, stream.count), using: &generator)) }
            checked += assertAgree(stream, "round \(round)")
            if case .packet = fast(stream, at: 0) { packets += 1 }
        }
        XCTAssertGreaterThan(packets, 100, "too few valid packets survived mutation to compare")
        XCTAssertGreaterThan(checked, 2000)
    }
}
