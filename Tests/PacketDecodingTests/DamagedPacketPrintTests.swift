import Foundation
import PacketCapture
import PacketDecoding
import TestSupport
import XCTest

/// Damage is data in the CLI too: `swiftcap read` prints a line for every packet of
/// a file of damaged packets (real and built packets with bytes flipped, lengths
/// lied about and tails cut, from a fixed seed) with every output flag, and exits 0.
final class DamagedPacketPrintTests: XCTestCase {
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func testDamagedPacketsPrintWithoutTrapping() throws {
        var sources: [(bytes: [UInt8], linkType: LinkType)] = BuiltFrames.all().map { ($0.bytes, $0.linkType == 1 ? .ethernet : .raw) }
        for path in CaptureCorpus.samples + (try CaptureCorpus.generated()) {
            guard let file = try? CaptureFile(path: path) else { continue }
            try? file.forEachPacket { sources.append((Array($0.bytes), $0.linkType)) }
        }
        var random = SeededGenerator(state: 8)
        let dir = try makeTemporaryDirectory("sc8-damaged")
        let path = "\(dir)/damaged.pcapng"
        let writer = try CaptureFileWriter(path: path, format: .pcapng)
        let linkTypes: [LinkType] = [.ethernet, .raw, .null, .loop, .linuxSLL, .linuxSLL2]
        for linkType in linkTypes { try writer.addInterface(linkType: linkType) }
        var written = 0
        for round in 0..<4 {
            for source in sources {
                var bytes = source.bytes
                let flips = Int.random(in: 1...6, using: &random)
                for _ in 0..<flips where !bytes.isEmpty {
                    // Bias toward the headers, where lengths and versions live.
                    let index = Int.random(in: 0..<min(bytes.count, 80), using: &random)
                    bytes[index] = UInt8.random(in: 0...255, using: &random)
                }
                if Bool.random(using: &random) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random))) }
                // Now and then the same bytes under another link type.
                let linkType = round == 3 ? linkTypes[Int.random(in: 0..<linkTypes.count, using: &random)] : source.linkType
                try writer.write(Packet(timestamp: Timestamp(seconds: 1_700_000_000 + Int64(written), nanoseconds: 0),
                                        wireLength: max(bytes.count, source.bytes.count), bytes: ArraySlice(bytes),
                                        linkType: linkType, interfaceIndex: linkTypes.firstIndex(of: linkType)!))
                written += 1
            }
        }
        try writer.close()
        let cli = try BuiltProducts.cli()
        for flags in [["-n"], ["-n", "-q"], ["-n", "-v", "-e"], ["-n", "-X", "-S"], ["-n", "-A", "-tttt"], ["--json"]] {
            let r = try runProcess([cli, "read", path] + flags, timeout: 120)
            XCTAssertEqual(r.status, 0, "\(flags): exit \(r.status), signal \(r.signal.map(String.init) ?? "none"): \(r.stderr.suffix(2000))")
            if flags == ["-n"] || flags == ["--json"] {
                XCTAssertEqual(r.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().count, written, "\(flags): one line per packet")
            }
        }
    }
}
