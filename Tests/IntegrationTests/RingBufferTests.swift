import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

/// Ring buffers and autostop: tcpdump -C/-G/-W and dumpcap -b/-a (issue 9).
/// Each file must be valid on its own (tshark reads it), and across the files
/// no packet may be lost or written twice, checked with a sequence number in
/// every datagram against what was sent and what the CLI says it captured.
final class RingBufferTests: XCTestCase {
    /// Sends datagrams "rb-000000", "rb-000001", ... of `size` bytes, `interval` s apart.
    private func send(_ range: Range<Int>, port: UInt16, size: Int = 100, interval: Double = 0) throws {
        for i in range {
            try sendMarkers([Self.marker(i)], port: port, size: size)
            if interval > 0 { usleep(UInt32(interval * 1_000_000)) }
        }
    }

    private static func marker(_ i: Int) -> String {
        let s = String(i)
        return "rb-" + String(repeating: "0", count: 6 - s.count) + s
    }

    /// The sequence numbers in `path`, in file order (UDP over Ethernet: payload at 42).
    private func sequences(in path: String) throws -> [Int] {
        let file = try CaptureFile(path: path)
        var result: [Int] = []
        try file.forEachPacket { view in
            let payload = Array(view.bytes.dropFirst(42).prefix(9))
            let text = String(decoding: payload, as: UTF8.self)
            if text.hasPrefix("rb-"), let n = Int(text.dropFirst(3)) { result.append(n) }
        }
        return result
    }

    /// The files of a run in `dir`, sorted by name.
    private func files(in dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { dir + "/" + $0 }
    }

    /// "N packets captured" from the CLI's stderr.
    private func captured(_ stderr: String) -> Int? {
        stderr.split(separator: "\n").first { $0.hasSuffix(" packets captured") }.flatMap { Int($0.split(separator: " ")[0]) }
    }

    /// Runs a capture with `arguments` in a fresh directory while `traffic`
    /// runs, stops it with SIGINT (unless it stops itself) and returns the
    /// directory, the files in it, and the CLI's result.
    private func run(_ arguments: [String], name: String = "ring.pcapng",
                     traffic: (UInt16) throws -> Void) throws -> (dir: String, files: [String], result: ProcessResult) {
        let dir = try makeTemporaryDirectory("sc9-ring")
        let port = LoopbackTraffic.freePort()
        let cli = try startSwiftcapCapture(["-i", "lo", "-w", dir + "/" + name] + arguments + ["udp", "port", "\(port)"])
        try traffic(port)
        usleep(300_000)
        cli.send(SIGINT)
        let r = cli.wait(timeout: 15)
        XCTAssertEqual(r.status, 0, r.stderr)
        return (dir, try files(in: dir), r)
    }

    /// Every file reads in tshark with its own header; together they hold each
    /// of `expected` exactly once, in order, as many as the CLI counted.
    private func checkNoLossNoDuplicates(_ files: [String], expected: Range<Int>, stderr: String,
                                         file: StaticString = #filePath, line: UInt = #line) throws {
        var all: [Int] = []
        for path in files {
            let tshark = try runProcess(["/usr/bin/tshark", "-r", path, "-T", "fields", "-e", "frame.number"], timeout: 30)
            XCTAssertEqual(tshark.status, 0, "\(path): \(tshark.stderr)", file: file, line: line)
            let sequences = try sequences(in: path)
            XCTAssertEqual(tshark.stdout.split(separator: "\n").count, sequences.count, "tshark and swiftcap disagree on \(path)", file: file, line: line)
            all += sequences
        }
        XCTAssertEqual(all, Array(expected), "lost, duplicated or reordered packets across \(files.count) files", file: file, line: line)
        XCTAssertEqual(captured(stderr), all.count, "the files hold what the CLI says it captured", file: file, line: line)
    }

    /// dumpcap -b packets:N: files of N packets, named PREFIX_NNNNN_YYYYmmddHHMMSS.pcapng.
    func testRotateByPacketCountWithDumpcapNames() throws {
        try requireRoot()
        let (_, files, r) = try run(["-b", "packets:7"]) { port in try send(0 ..< 30, port: port) }
        XCTAssertEqual(files.count, 5, "30 packets, 7 per file: \(files)")
        let pattern = try NSRegularExpression(pattern: "/ring_0000[1-5]_20[0-9]{12}\\.pcapng$")
        for (i, path) in files.enumerated() {
            XCTAssertNotNil(pattern.firstMatch(in: path, range: NSRange(path.startIndex..., in: path)), path)
            XCTAssertTrue(path.contains("_0000\(i + 1)_"), path)
            XCTAssertEqual(try sequences(in: path).count, i < 4 ? 7 : 2, path)
        }
        try checkNoLossNoDuplicates(files, expected: 0 ..< 30, stderr: r.stderr)
    }

    /// tcpdump -C SIZE (millions of bytes): file, file1, file2...; each file
    /// passes SIZE by less than one packet. dumpcap -b filesize:KB likewise.
    func testRotateBySize() throws {
        try requireRoot()
        let (_, files, r) = try run(["-C", "1", "--format", "pcap"], name: "size.pcap") { port in try send(0 ..< 2500, port: port, size: 1000) }
        XCTAssertEqual(files.map { ($0 as NSString).lastPathComponent }, ["size.pcap", "size.pcap1", "size.pcap2"])
        for path in files.dropLast() {
            let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            XCTAssertGreaterThanOrEqual(size, 1_000_000, path)
            XCTAssertLessThan(size, 1_000_000 + 1100, path)
        }
        try checkNoLossNoDuplicates(files, expected: 0 ..< 2500, stderr: r.stderr)

        let dumpcap = try run(["-b", "filesize:20"]) { port in try send(0 ..< 100, port: port, size: 500) }
        XCTAssertGreaterThanOrEqual(dumpcap.files.count, 3)
        try checkNoLossNoDuplicates(dumpcap.files, expected: 0 ..< 100, stderr: dumpcap.result.stderr)
    }

    /// dumpcap -b duration:1 (and tcpdump -G 1 with a strftime name): a new
    /// file each second while packets keep coming.
    func testRotateByTime() throws {
        try requireRoot()
        let (_, files, r) = try run(["-b", "duration:1"]) { port in try send(0 ..< 25, port: port, interval: 0.1) }
        XCTAssertGreaterThanOrEqual(files.count, 2, "2.5 s of traffic, 1 s per file: \(files)")
        XCTAssertLessThanOrEqual(files.count, 4, "\(files)")
        try checkNoLossNoDuplicates(files, expected: 0 ..< 25, stderr: r.stderr)

        let tcpdump = try run(["-G", "1"], name: "t-%H%M%S.pcapng") { port in try send(0 ..< 25, port: port, interval: 0.1) }
        XCTAssertGreaterThanOrEqual(tcpdump.files.count, 2, "\(tcpdump.files)")
        XCTAssertTrue(tcpdump.files.allSatisfy { !$0.contains("%") }, "strftime codes are expanded: \(tcpdump.files)")
        try checkNoLossNoDuplicates(tcpdump.files, expected: 0 ..< 25, stderr: tcpdump.result.stderr)
    }

    /// Time rotation with no packet to trigger it: on an idle veth in a
    /// namespace of its own (and a filter nothing there matches), -b duration:1
    /// and -G 1 still start a new file every second, and -a files:3 / -W 2 stop
    /// the capture by themselves when the file after the last one is due.
    func testTimeRotationOnAnIdleInterface() throws {
        try requireRoot()
        let pair = try NetworkNamespacePair(prefix: "scD")
        defer { pair.cleanup() }
        let cases: [([String], String, Int)] = [
            (["-b", "duration:1", "-a", "files:3"], "idle.pcapng", 3),
            (["-G", "1", "-W", "2"], "g-%H%M%S.pcapng", 2),
        ]
        for (arguments, name, expectedFiles) in cases {
            let dir = try makeTemporaryDirectory("scD-idle")
            let start = Date()
            let cli = try startSwiftcapCapture(["-i", pair.interfaceB, "-w", dir + "/" + name] + arguments + ["udp", "port", "9"],
                                               namespace: pair.namespaceB)
            let r = cli.wait(timeout: Double(expectedFiles) + 10)
            let elapsed = Date().timeIntervalSince(start)
            XCTAssertEqual(r.status, 0, "\(arguments): \(r.stderr)")
            let written = try files(in: dir)
            XCTAssertEqual(written.count, expectedFiles, "\(arguments): one file per second, then the stop: \(written)")
            XCTAssertGreaterThanOrEqual(elapsed, Double(expectedFiles), "\(arguments): a file lasts its second")
            XCTAssertLessThan(elapsed, Double(expectedFiles) + 5, "\(arguments): the stop came on time, not with a packet")
            try checkNoLossNoDuplicates(written, expected: 0 ..< 0, stderr: r.stderr)
        }
    }

    /// A ring: -b files:3 keeps the newest three files (the older packets are
    /// gone by design); tcpdump -C with -W 3 reuses file0..file2.
    func testRingKeepsTheNewestFiles() throws {
        try requireRoot()
        let (_, files, _) = try run(["-b", "packets:10", "-b", "files:3"]) { port in try send(0 ..< 50, port: port) }
        XCTAssertEqual(files.count, 3, "\(files)")
        XCTAssertTrue(files[0].contains("_00003_") && files[2].contains("_00005_"), "\(files)")
        XCTAssertEqual(try files.flatMap { try sequences(in: $0) }, Array(20 ..< 50))

        let tcpdump = try run(["-C", "1", "-W", "3", "--format", "pcap"], name: "w.pcap") { port in try send(0 ..< 3500, port: port, size: 1000) }
        XCTAssertEqual(tcpdump.files.map { ($0 as NSString).lastPathComponent }, ["w.pcap0", "w.pcap1", "w.pcap2"])
        // The fourth file reused w.pcap0: in writing order the files are 1, 2, 0,
        // and together they end with the newest packet, none missing or twice.
        let ordered = try [1, 2, 0].flatMap { try sequences(in: tcpdump.files[$0]) }
        XCTAssertEqual(ordered, Array((3500 - ordered.count) ..< 3500))
        XCTAssertGreaterThan(ordered.count, 1900, "two full files of ~960 packets and a partial one")
    }

    /// dumpcap -a: packets:N, files:N (with -b), filesize:KB and duration:S stop the capture by themselves.
    func testAutostop() throws {
        try requireRoot()
        let dir = try makeTemporaryDirectory("sc9-autostop")
        let port = LoopbackTraffic.freePort()
        for (arguments, expectedPackets, expectedFiles) in [(["-a", "packets:5"], 5, 1), (["-b", "packets:4", "-a", "files:2"], 8, 2),
                                                            (["-a", "filesize:2"], 4, 1)] {
            let sub = try makeTemporaryDirectory("sc9-autostop-case")
            let cli = try startSwiftcapCapture(["-i", "lo", "-w", sub + "/a.pcapng"] + arguments + ["udp", "port", "\(port)"])
            try send(0 ..< 20, port: port, size: 500, interval: 0.01)
            let r = cli.wait(timeout: 10)
            XCTAssertEqual(r.status, 0, "\(arguments): \(r.stderr)")
            let written = try files(in: sub)
            XCTAssertEqual(written.count, expectedFiles, "\(arguments): \(written)")
            try checkNoLossNoDuplicates(written, expected: 0 ..< expectedPackets, stderr: r.stderr)
        }
        let start = Date()
        let cli = try startSwiftcapCapture(["-i", "lo", "-w", dir + "/d.pcapng", "-a", "duration:1", "udp", "port", "\(port)"])
        let r = cli.wait(timeout: 10)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(start), 4)
    }

    /// The bad-input table of the ring options.
    func testBadRingOptions() throws {
        let cases: [([String], String)] = [
            (["-C", "1"], "add -w FILE (not -w -)"),
            (["-w", "-", "-b", "packets:3"], "add -w FILE (not -w -)"),
            (["-w", "x", "-b", "size:3"], "-b size:3: expected KEY:VALUE with KEY one of filesize, duration, packets, files"),
            (["-w", "x", "-b", "packets:0"], "the value must be a whole number of at least 1"),
            (["-w", "x", "-b", "files:3"], "-b files:N keeps the newest N files"),
            (["-w", "x", "-a", "files:3"], "-a files:N stops after N files"),
            (["-w", "x", "-C", "0"], "-C SIZE is in millions of bytes"),
            (["-w", "x", "-W", "3"], "-W needs -C or -G"),
            (["-w", "x", "-C", "1", "-b", "packets:3"], "use one style"),
        ]
        for (arguments, message) in cases {
            let r = try runProcess([try BuiltProducts.cli(), "capture", "-i", "lo"] + arguments, timeout: 10)
            XCTAssertNotEqual(r.status, 0, "\(arguments)")
            XCTAssertTrue(r.stderr.contains(message), "\(arguments): \(r.stderr)")
        }
    }
}
