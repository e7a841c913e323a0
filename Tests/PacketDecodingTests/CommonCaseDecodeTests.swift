import PacketCapture
@testable import PacketDecoding
import XCTest

/// `PacketLayers.decode` takes a one-pass path for Ethernet + IPv4/IPv6 + TCP/UDP
/// (`decodeCommonEthernet`); every packet must decode to exactly what the general
/// walk gives. Checked on built frames, on every byte of them changed and cut, and
/// on every Ethernet packet of the committed samples and the shared corpus.
final class CommonCaseDecodeTests: XCTestCase {
    /// Decodes `bytes` both ways; returns whether the common-case path took it.
    @discardableResult
    func assertBothWaysAgree(_ bytes: [UInt8], _ what: @autoclosure () -> String) -> Bool {
        bytes.withUnsafeBytes { raw in
            let span = RawSpan(_unsafeBytes: raw)
            var walked = PacketLayers(linkType: 0)
            PacketLayers.decodeByWalk(span, linkType: LinkTypeNumber.ethernet, into: &walked)
            // Start from unrelated content: the common path must overwrite every field.
            var common = PacketLayers.decode(span, linkType: LinkTypeNumber.raw)
            let taken = PacketLayers.decodeCommonEthernet(span, into: &common)
            if taken { XCTAssertEqual(common, walked, what()) }
            XCTAssertEqual(PacketLayers.decode(span, linkType: LinkTypeNumber.ethernet), walked, what())
            return taken
        }
    }

    func ethernetFrames() -> [(String, [UInt8])] {
        let link = PacketBuilder.Link.ethernet(source: BuiltFrames.macA, destination: BuiltFrames.macB)
        var frames = BuiltFrames.all(links: [link]).map { ($0.name, $0.bytes) }
        // IPv4 with options (IHL 6), a first fragment (MF set) and a later one, total length 0 (TSO).
        var options = PacketBuilder(link: link, network: .ipv4(IPv4Fields(source: BuiltFrames.ipA, destination: BuiltFrames.ipB)),
                                    transport: .udp(sourcePort: 1, destinationPort: 2), payload: [1, 2, 3, 4]).build()
        options.insert(contentsOf: [1, 1, 1, 0], at: 34)
        options[14] = 0x46
        options[17] += 4
        frames.append(("ipv4-options", options))
        var first = frames[0].1
        first[20] |= 0x20
        frames.append(("first-fragment", first))
        var later = frames[0].1
        later[21] = 3
        frames.append(("later-fragment", later))
        var tso = frames[1].1
        tso[16] = 0; tso[17] = 0
        frames.append(("tso-length-0", tso))
        return frames
    }

    /// Built frames, and each with every one of its first 80 bytes set to values that
    /// cross the checks (versions, header lengths, EtherTypes, protocols, lengths), and cut.
    func testBuiltAndDamagedFramesDecodeAlikeBothWays() {
        var taken = 0
        for (name, frame) in ethernetFrames() {
            if assertBothWaysAgree(frame, name) { taken += 1 }
            for length in 0..<frame.count { assertBothWaysAgree(Array(frame.prefix(length)), "\(name) cut to \(length)") }
            for index in 0..<min(80, frame.count) {
                for value: UInt8 in [0x00, 0x01, 0x04, 0x05, 0x06, 0x08, 0x11, 0x14, 0x2C, 0x3A, 0x45, 0x4F, 0x50, 0x60, 0x81, 0x86, 0xDD, 0xFF] {
                    var damaged = frame
                    damaged[index] = value
                    assertBothWaysAgree(damaged, "\(name) byte \(index) = \(value)")
                }
            }
        }
        // The four IPv4/IPv6 × TCP/UDP frames, IP options, first fragment and TSO: the one-pass path.
        XCTAssertEqual(taken, 7, "frames the common-case path decoded")
    }

    /// Every Ethernet packet of the samples and the shared corpus.
    func testCaptureFilesDecodeAlikeBothWays() throws {
        var packets = 0, taken = 0
        for path in try CaptureCorpus.samples + CaptureCorpus.sharedCorpus() {
            guard let file = try? CaptureFile(path: path) else { continue }
            try? file.forEachPacket { view in
                guard view.linkType.rawValue == LinkTypeNumber.ethernet else { return }
                packets += 1
                if assertBothWaysAgree(Array(view.bytes), "\(path) packet \(packets)") { taken += 1 }
            }
        }
        XCTAssertGreaterThan(packets, 300, "Ethernet packets in the samples and the corpus")
        XCTAssertGreaterThan(taken, 150, "packets the common-case path decoded")
    }
}
