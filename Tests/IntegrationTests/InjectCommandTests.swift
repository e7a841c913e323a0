import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

/// `swiftcap inject` between two namespaces the test creates (issue 9): what
/// arrives on the other end equals what was sent, in order, at the asked rate.
final class InjectCommandTests: XCTestCase {
    /// Ethertype 0x88B5 (IEEE local experimental): no stack on the far side answers it.
    private static let ethertype: [UInt8] = [0x88, 0xB5]

    /// Broadcast frames carrying "inj-NNNNN" and `size` bytes in all.
    private static func frames(_ count: Int, size: Int = 120, tag: String = "inj") -> [[UInt8]] {
        (0 ..< count).map { i in
            var frame: [UInt8] = Array(repeating: 0xFF, count: 6) + [0x02, 0x53, 0x43, 0x39, 0x00, 0x01] + ethertype
            let digits = String(i)
            frame += Array("\(tag)-\(String(repeating: "0", count: 5 - digits.count))\(digits)".utf8)
            frame += (frame.count ..< size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }
            return frame
        }
    }

    /// Writes `frames` to a capture file, `gap` seconds apart, with `linkType`.
    private static func file(_ frames: [[UInt8]], gap: Double = 0.001, format: CaptureFileFormat = .pcap,
                             linkType: LinkType = .ethernet) throws -> String {
        let path = try makeTemporaryDirectory("sc9-inject") + "/send." + (format == .pcap ? "pcap" : "pcapng")
        let writer = try CaptureFileWriter(path: path, format: format)
        try writer.addInterface(linkType: linkType)
        for (i, frame) in frames.enumerated() {
            let ns = Int64(Double(i) * gap * 1e9)
            try writer.write(Packet(timestamp: Timestamp(seconds: 1_700_000_000 + ns / 1_000_000_000, nanoseconds: UInt32(ns % 1_000_000_000)),
                                    wireLength: frame.count, bytes: frame[...], linkType: linkType))
        }
        try writer.close()
        return path
    }

    /// The frames of ethertype 0x88B5 in `path`, with their timestamps.
    private static func received(_ path: String) throws -> [(bytes: [UInt8], time: Int64)] {
        var result: [(bytes: [UInt8], time: Int64)] = []
        try CaptureFile(path: path).forEachPacket { view in
            let bytes = Array(view.bytes)
            if bytes.count > 14, Array(bytes[12 ..< 14]) == ethertype { result.append((bytes, view.timestamp?.totalNanoseconds ?? 0)) }
        }
        return result
    }

    /// Captures on the peer end while `inject` runs on our end; returns what
    /// arrived and inject's result.
    private func injectAndReceive(_ veths: VethLinks, _ injectArguments: [String], shell: String? = nil) throws
        -> (frames: [(bytes: [UInt8], time: Int64)], inject: ProcessResult) {
        let path = try makeTemporaryDirectory("sc9-inject-recv") + "/recv.pcapng"
        let capture = try startSwiftcapCapture(["-i", veths.links[0].peer, "--immediate-mode", "-w", path, "ether", "proto", "0x88b5"],
                                               namespace: veths.peerNamespace)
        let cli = try BuiltProducts.cli(), helper = try BuiltProducts.helper()
        let argv = shell.map { ["/bin/sh", "-c", $0] }
            ?? [cli, "inject", "--helper", helper, "-i", veths.links[0].local] + injectArguments
        let inject = try runProcess(NetworkNamespacePair.exec(veths.captureNamespace, argv), timeout: 60)
        usleep(300_000)
        capture.send(SIGINT)
        XCTAssertEqual(capture.wait(timeout: 10).status, 0)
        return (try Self.received(path), inject)
    }

    /// The issue's test: a file sent at --rate 1000 arrives whole, byte for
    /// byte and in order, and the rate is within 10% of the one asked for.
    func testInjectedFileArrivesWholeInOrderAtTheAskedRate() throws {
        let veths = try VethLinks(links: 1)
        defer { veths.cleanup() }
        let sent = Self.frames(500)
        let (arrived, inject) = try injectAndReceive(veths, ["--rate", "1000", try Self.file(sent)])
        XCTAssertEqual(inject.status, 0, inject.stderr)
        XCTAssertTrue(inject.stderr.contains("500 packets sent, 60000 bytes, 0 failed"), inject.stderr)
        XCTAssertEqual(arrived.count, sent.count)
        XCTAssertTrue(arrived.map(\.bytes) == sent, "the frames that arrived differ from those sent")
        // Rate from the receiver's timestamps, and as inject reports it.
        let seconds = Double(arrived.last!.time - arrived.first!.time) / 1e9
        let measured = Double(arrived.count - 1) / seconds
        print("inject --rate 1000: \(Int(measured)) packets/s at the receiver; \(inject.stderr.split(separator: "\n").last ?? "")")
        XCTAssertEqual(measured, 1000, accuracy: 100, "received at \(Int(measured)) packets/s")
        let reported = inject.stderr.split(separator: "\n").last.flatMap { line in
            line.hasPrefix("rate ") ? Double(line.split(separator: " ")[1]) : nil
        }
        XCTAssertEqual(try XCTUnwrap(reported, inject.stderr), 1000, accuracy: 100)
    }

    /// --loop, -c, --topspeed, --speed-multiplier, pcapng, standard input, --hex.
    func testTimingLoopCountStdinAndHex() throws {
        let veths = try VethLinks(links: 1)
        defer { veths.cleanup() }
        let sent = Self.frames(4, tag: "lop")
        let file = try Self.file(sent, gap: 0.1, format: .pcapng)

        // --loop 2 -c 7 --topspeed: the file twice, cut at 7, quickly (the file spans 300 ms).
        var r = try injectAndReceive(veths, ["--loop", "2", "-c", "7", "--topspeed", file])
        XCTAssertEqual(r.inject.status, 0, r.inject.stderr)
        XCTAssertTrue(r.frames.map(\.bytes) == Array((sent + sent).prefix(7)))
        XCTAssertLessThan(Double(r.frames.last!.time - r.frames.first!.time) / 1e9, 0.25)

        // --speed-multiplier 2: the file's 300 ms become about 150 ms; the default keeps 300 ms.
        r = try injectAndReceive(veths, ["--speed-multiplier", "2", file])
        XCTAssertTrue(r.frames.map(\.bytes) == sent)
        XCTAssertEqual(Double(r.frames.last!.time - r.frames.first!.time) / 1e9, 0.15, accuracy: 0.05)
        r = try injectAndReceive(veths, [file])
        XCTAssertEqual(Double(r.frames.last!.time - r.frames.first!.time) / 1e9, 0.30, accuracy: 0.05)

        // Standard input.
        let command = "cat \(file) | \(try BuiltProducts.cli()) inject --helper \(try BuiltProducts.helper()) -i \(veths.links[0].local) --topspeed -"
        r = try injectAndReceive(veths, [], shell: command)
        XCTAssertEqual(r.inject.status, 0, r.inject.stderr)
        XCTAssertTrue(r.frames.map(\.bytes) == sent)

        // --hex: one frame.
        let frame = Self.frames(1, tag: "hex")[0]
        let hex = frame.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
        r = try injectAndReceive(veths, ["--hex", hex])
        XCTAssertEqual(r.inject.status, 0, r.inject.stderr)
        XCTAssertTrue(r.frames.map(\.bytes) == [frame])
        XCTAssertTrue(r.inject.stderr.contains("1 packets sent, 120 bytes, 0 failed"), r.inject.stderr)
    }

    /// --topspeed sends in batches (one request per up to 4096 packets, sent
    /// by the helper with sendmmsg of up to 1024): a file of 5000 frames (two
    /// requests, several sendmmsg calls) arrives whole and in order.
    func testTopSpeedBatchesArriveWholeInOrder() throws {
        let veths = try VethLinks(links: 1)
        defer { veths.cleanup() }
        let sent = Self.frames(5000, tag: "top")
        let file = try Self.file(sent)
        let path = try makeTemporaryDirectory("sc9-inject-recv") + "/recv.pcapng"
        // Small slots and a big buffer: an immediate-mode ring of 262144-byte slots holds only a few frames.
        let capture = try startSwiftcapCapture(["-i", veths.links[0].peer, "--immediate-mode", "-s", "256", "-B", "32768", "-w", path,
                                                "ether", "proto", "0x88b5"], namespace: veths.peerNamespace)
        let inject = try runProcess(NetworkNamespacePair.exec(veths.captureNamespace, [try BuiltProducts.cli(), "inject", "--helper",
                                                              try BuiltProducts.helper(), "-i", veths.links[0].local, "--topspeed", file]), timeout: 60)
        usleep(500_000)
        capture.send(SIGINT)
        XCTAssertEqual(capture.wait(timeout: 10).status, 0)
        XCTAssertEqual(inject.status, 0, inject.stderr)
        XCTAssertTrue(inject.stderr.contains("5000 packets sent, 600000 bytes, 0 failed"), inject.stderr)
        let got = try Self.received(path).map(\.bytes)
        XCTAssertEqual(got.count, sent.count, "frames lost between the namespaces")
        XCTAssertTrue(got == sent, "frames arrived changed or out of order")
    }

    /// The library's batch: every packet is tried, failures counted with the
    /// first one's reason; a batch that cannot fit is refused before sending.
    func testInjectBatchCountsFailuresAndRefusesWhatCannotFit() async throws {
        try requireRoot()
        var options = CaptureOptions()
        options.helperPath = try BuiltProducts.helper()
        options.filter = "less 1"
        let capture = try await LiveCapture.open(interface: "lo", options: options)
        let small = Self.frames(3)
        let tooBig = [UInt8](repeating: 0, count: 70_000) // over lo's MTU: pcap_inject refuses it
        let result = try await capture.inject(batch: [small[0], tooBig, small[1], small[2]])
        XCTAssertEqual(result.sent, 3)
        XCTAssertEqual(result.bytes, 3 * 120)
        XCTAssertEqual(result.failed, 1)
        XCTAssertEqual(result.firstError?.code, .injectFailed)
        XCTAssertTrue(result.firstError?.message.contains("70000 bytes") == true, result.firstError?.message ?? "")
        let cases: [(String, [[UInt8]])] = [
            ("an empty packet", [small[0], []]),
            ("over the batch size", Array(repeating: [UInt8](repeating: 1, count: 60_000), count: 5)),
        ]
        for (name, batch) in cases {
            do {
                _ = try await capture.inject(batch: batch)
                XCTFail("\(name): accepted")
            } catch {
                XCTAssertEqual(error.code, .packetTooLarge, "\(name): \(error.message)")
                XCTAssertTrue(error.message.contains("smaller batches"), error.message)
            }
        }
        let empty = try await capture.inject(batch: [])
        XCTAssertEqual(empty.sent, 0)
        _ = try await capture.statistics() // the session survived
        await capture.close()

        // On a cooked capture (any) libpcap refuses every packet, in its words.
        let cooked = try await LiveCapture.open(interface: "any", options: options)
        let refused = try await cooked.inject(batch: Array(small.prefix(2)))
        XCTAssertEqual(refused.sent, 0)
        XCTAssertEqual(refused.failed, 2)
        XCTAssertTrue(refused.firstError?.message.contains("isn't supported") == true, refused.firstError?.message ?? "")
        await cooked.close()
    }

    /// InjectBatch: full by count or by bytes (append says so, appending
    /// nothing); an empty or oversized packet is refused (the bad-input table).
    func testInjectBatchBounds() throws {
        var batch = InjectBatch(maximumCount: 2)
        let frame = Self.frames(1)[0]
        XCTAssertTrue(try batch.append(frame))
        XCTAssertTrue(try batch.append(frame[...]))
        XCTAssertFalse(try batch.append(frame), "third packet of a 2-packet batch")
        XCTAssertEqual(batch.count, 2)
        XCTAssertEqual(batch.byteCount, 4 + 2 * (4 + frame.count))
        batch.removeAll()
        XCTAssertTrue(batch.isEmpty)

        var bytesBound = InjectBatch()
        let big = [UInt8](repeating: 7, count: 100_000)
        XCTAssertTrue(try bytesBound.append(big))
        XCTAssertTrue(try bytesBound.append(big))
        XCTAssertFalse(try bytesBound.append(big), "a third 100000-byte packet exceeds maximumBatchBytes")
        XCTAssertLessThanOrEqual(bytesBound.byteCount, LiveCapture.maximumBatchBytes)

        let bad: [(String, [UInt8])] = [("empty packet", []), ("packet over 262144 bytes", [UInt8](repeating: 0, count: 262_145))]
        for (name, packet) in bad {
            do {
                _ = try batch.append(packet)
                XCTFail("\(name): accepted")
            } catch {
                XCTAssertEqual(error.code, .packetTooLarge, name)
                XCTAssertTrue(error.message.contains("must be 1...262144 bytes"), "\(name): \(error.message)")
            }
        }
        XCTAssertTrue(batch.isEmpty, "a refused packet is not appended")
    }

    /// A file of another link type is refused before anything is sent.
    func testMismatchedLinkTypeIsRefusedBeforeSending() throws {
        let veths = try VethLinks(links: 1)
        defer { veths.cleanup() }
        let file = try Self.file(Self.frames(3), linkType: .linuxSLL)
        let r = try injectAndReceive(veths, ["--topspeed", file])
        XCTAssertEqual(r.inject.status, 1)
        XCTAssertTrue(r.inject.stderr.contains("link-type LINUX_SLL (Linux cooked v1)"), r.inject.stderr)
        XCTAssertTrue(r.inject.stderr.contains("is link-type EN10MB (Ethernet); nothing was sent"), r.inject.stderr)
        XCTAssertTrue(r.inject.stderr.contains("0 packets sent"), r.inject.stderr)
        XCTAssertEqual(r.frames.count, 0)
    }

    /// --topspeed reads the file on its own thread: a file damaged after four
    /// packets sends those four, then fails with the file's error; a pcapng
    /// stream whose third packet is of another link type sends the two before it.
    func testTopSpeedStopsAtDamageAndAtAnotherLinkType() throws {
        let veths = try VethLinks(links: 1, prefix: "scD")
        defer { veths.cleanup() }
        let sent = Self.frames(5, tag: "dmg")
        let damaged = try Self.file(sent)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: damaged)[.size] as? Int)
        XCTAssertEqual(truncate(damaged, off_t(size - 10)), 0)
        var r = try injectAndReceive(veths, ["--topspeed", damaged])
        XCTAssertEqual(r.inject.status, 1, r.inject.stderr)
        XCTAssertTrue(r.inject.stderr.contains("4 packets sent, 480 bytes, 0 failed"), r.inject.stderr)
        XCTAssertTrue(r.frames.map(\.bytes) == Array(sent.prefix(4)), "the four complete packets, in order")

        let path = try makeTemporaryDirectory("scD-inject-mixed") + "/mixed.pcapng"
        let writer = try CaptureFileWriter(path: path, format: .pcapng)
        _ = try writer.addInterface(linkType: .ethernet)
        _ = try writer.addInterface(linkType: .linuxSLL)
        for (i, frame) in sent.prefix(3).enumerated() {
            try writer.write(Packet(timestamp: Timestamp(seconds: 1_700_000_000, nanoseconds: 0), wireLength: frame.count, bytes: frame[...],
                                    linkType: i < 2 ? .ethernet : .linuxSLL, interfaceIndex: i < 2 ? 0 : 1))
        }
        try writer.close()
        let command = "cat \(path) | \(try BuiltProducts.cli()) inject --helper \(try BuiltProducts.helper()) -i \(veths.links[0].local) --topspeed -"
        r = try injectAndReceive(veths, [], shell: command)
        XCTAssertEqual(r.inject.status, 1, r.inject.stderr)
        XCTAssertTrue(r.inject.stderr.contains("standard input has packets of link-type LINUX_SLL"), r.inject.stderr)
        XCTAssertTrue(r.inject.stderr.contains("2 packets sent, 240 bytes, 0 failed"), r.inject.stderr)
        XCTAssertTrue(r.frames.map(\.bytes) == Array(sent.prefix(2)))
    }

    /// The bad-input table of inject: one clear error each, before any helper runs.
    func testBadInjectArguments() throws {
        let cases: [([String], String)] = [
            (["-i", "lo"], "give a FILE (or - for standard input) or --hex BYTES"),
            (["-i", "lo", "f.pcap", "--hex", "00"], "give a FILE (or - for standard input) or --hex BYTES"),
            (["-i", "lo", "--hex", "0g"], "--hex 0g: expected pairs of hex digits"),
            (["-i", "lo", "--hex", "abc"], "expected pairs of hex digits"),
            (["-i", "lo", "f.pcap", "--rate", "0"], "--rate must be above 0"),
            (["-i", "lo", "f.pcap", "--rate", "10", "--topspeed"], "exclude each other"),
            (["-i", "lo", "f.pcap", "--speed-multiplier", "0"], "--speed-multiplier must be above 0"),
            (["-i", "lo", "f.pcap", "--loop", "0"], "--loop must be at least 1"),
            (["-i", "lo", "-", "--loop", "2"], "standard input cannot be read twice"),
            (["-i", "lo", "--hex", "00", "-c", "2"], "--hex sends one frame"),
            (["inject", "-i", "lo"], "Did you mean"),
        ]
        for (arguments, message) in cases {
            let argv = arguments.first == "inject" ? ["injct"] + arguments.dropFirst() : ["inject"] + arguments
            let r = try runProcess([try BuiltProducts.cli()] + argv, timeout: 10)
            XCTAssertNotEqual(r.status, 0, "\(arguments)")
            XCTAssertTrue(r.stderr.contains(message), "\(arguments): \(r.stderr)")
        }
    }
}
