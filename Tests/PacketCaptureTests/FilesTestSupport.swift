import Foundation
import PacketCapture
import TestSupport
import XCTest

// Helpers shared by the Files* tests: sample paths, temporary files, external
// tools, and builders for hand-made pcap/pcapng bytes in either byte order.

enum FilesSupport {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Samples")

    static func sample(_ name: String) -> String { samples.appendingPathComponent(name).path }

    /// Every committed capture sample.
    static var sampleNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: samples.path)) ?? [])
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }
            .sorted()
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcap-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    // MARK: External tools

    /// The absolute path of `tool`, or a test failure naming the package to install.
    static func tool(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin"] {
            let path = dir + "/" + name
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        let package = name == "tcpdump" ? "tcpdump" : name == "tshark" ? "tshark" : "wireshark-common (with tshark)"
        XCTFail("\(name) is not installed: this test needs it (apt-get install \(package))", file: file, line: line)
        return nil
    }

    struct ToolResult {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> ToolResult {
        let r = try runProcess([executable] + arguments, timeout: 120)
        return ToolResult(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    /// tshark's view: "epoch<TAB>caplen<TAB>len<TAB>interface<TAB>comments" per packet.
    static func tsharkLines(_ path: String) throws -> [String]? {
        guard let tshark = tool("tshark") else { return nil }
        let r = try run(tshark, ["-r", path, "-T", "fields", "-E", "separator=/t", "-e", "frame.time_epoch",
                                 "-e", "frame.cap_len", "-e", "frame.len", "-e", "frame.interface_id",
                                 "-e", "frame.comment"])
        XCTAssertEqual(r.status, 0, "tshark failed on \(path): \(r.stderr)")
        return r.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// Our view, in the same format as `tsharkLines` (pcap interface: empty, as tshark prints).
    static func ourLines(_ path: String) throws -> [String] {
        let file = try CaptureFile(path: path)
        var lines: [String] = []
        try file.forEachPacket { view in
            let interface = file.format == .pcap ? "" : String(view.interfaceIndex)
            lines.append([view.timestamp?.description ?? "", String(view.captureLength), String(view.wireLength),
                          interface, view.comments.joined(separator: ",")].joined(separator: "\t"))
        }
        return lines
    }

    /// Normalizes trailing empty fields (tshark omits nothing, but be lenient with tabs).
    static func normalized(_ lines: [String]) -> [String] {
        lines.map { line in
            var fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            while fields.count < 5 { fields.append("") }
            return fields.joined(separator: "\t")
        }
    }
}

/// What a test remembers of one packet.
struct ReadPacket: Equatable, CustomStringConvertible {
    var timestamp: Timestamp?
    var captureLength: Int
    var wireLength: Int
    var linkType: UInt32
    var interface: Int
    var section: Int
    var comments: [String]
    var bytes: [UInt8]

    init(_ view: PacketView) {
        timestamp = view.timestamp
        captureLength = view.captureLength
        wireLength = view.wireLength
        linkType = view.linkType.rawValue
        interface = view.interfaceIndex
        section = view.sectionIndex
        comments = view.comments
        bytes = Array(view.bytes)
    }

    init(_ packet: Packet, section: Int = 0) {
        timestamp = packet.timestamp
        captureLength = packet.captureLength
        wireLength = packet.wireLength
        linkType = packet.linkType.rawValue
        interface = packet.interfaceIndex
        self.section = section
        comments = packet.comments
        bytes = Array(packet.bytes)
    }

    var description: String {
        "\(timestamp?.description ?? "nil") cap \(captureLength) len \(wireLength) lt \(linkType) if \(interface) s\(section) \(comments)"
    }
}

/// Every packet of `file`, and the error that ended the walk, if any.
func readAll(_ file: CaptureFile) -> (packets: [ReadPacket], error: CaptureFileError?) {
    var packets: [ReadPacket] = []
    do {
        try file.forEachPacket { packets.append(ReadPacket($0)) }
        return (packets, nil)
    } catch let error as CaptureFileError {
        return (packets, error)
    } catch {
        XCTFail("unexpected error type: \(error)")
        return (packets, nil)
    }
}

/// Opens (an error here counts as "no packets") and reads everything.
func openAndReadAll(bytes: [UInt8]) -> (packets: [ReadPacket], error: CaptureFileError?) {
    do {
        return readAll(try CaptureFile(bytes: bytes))
    } catch {
        return ([], error)
    }
}

/// A pipe that a thread fills with `bytes`, then closes: the read end (the caller closes it).
func pipeFilled(with bytes: [UInt8]) -> Int32? {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { return nil }
    let writeEnd = fds[1]
    let writer = Thread {
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(writeEnd, raw.baseAddress! + done, raw.count - done)
                if n <= 0 { break }
                done += n
            }
        }
        close(writeEnd)
    }
    writer.start()
    return fds[0]
}

/// Reads `bytes` through a pipe, as a stream.
func openAndReadAllAsStream(bytes: [UInt8]) -> (packets: [ReadPacket], error: CaptureFileError?) {
    guard let readEnd = pipeFilled(with: bytes) else {
        XCTFail("pipe failed")
        return ([], nil)
    }
    defer { close(readEnd) }
    do {
        let file = try CaptureFile(fileDescriptor: readEnd, path: "pipe")
        XCTAssertTrue(file.isStream)
        let result = readAll(file)
        // Drain, so the writer thread finishes even if reading stopped early.
        var sink = [UInt8](repeating: 0, count: 65536)
        while read(readEnd, &sink, sink.count) > 0 {}
        return result
    } catch {
        var sink = [UInt8](repeating: 0, count: 65536)
        while read(readEnd, &sink, sink.count) > 0 {}
        return ([], error)
    }
}

// MARK: Byte builders

/// Appends integers in a chosen byte order.
struct ByteBuilder {
    var bigEndian: Bool
    var bytes: [UInt8] = []

    init(bigEndian: Bool = false) { self.bigEndian = bigEndian }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { append(bigEndian ? v.bigEndian : v.littleEndian) }
    mutating func u32(_ v: UInt32) { append(bigEndian ? v.bigEndian : v.littleEndian) }
    mutating func u64(_ v: UInt64) { append(bigEndian ? v.bigEndian : v.littleEndian) }
    mutating func raw(_ b: [UInt8]) { bytes += b }
    mutating func pad4() { while bytes.count % 4 != 0 { bytes.append(0) } }

    private mutating func append<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v) { bytes += $0 }
    }
}

enum Pcap {
    static func file(bigEndian: Bool = false, nanoseconds: Bool = false, snaplen: UInt32 = 262_144,
                     linkTypeField: UInt32 = 1, version: (UInt16, UInt16) = (2, 4),
                     records: [(sec: UInt32, frac: UInt32, data: [UInt8], orig: UInt32?)]) -> [UInt8] {
        var b = ByteBuilder(bigEndian: bigEndian)
        b.u32(nanoseconds ? 0xA1B2_3C4D : 0xA1B2_C3D4)
        b.u16(version.0)
        b.u16(version.1)
        b.u32(0)
        b.u32(0)
        b.u32(snaplen)
        b.u32(linkTypeField)
        for r in records {
            b.u32(r.sec)
            b.u32(r.frac)
            b.u32(UInt32(r.data.count))
            b.u32(r.orig ?? UInt32(r.data.count))
            b.raw(r.data)
        }
        return b.bytes
    }
}

/// Hand-made pcapng blocks.
enum Pcapng {
    typealias Option = (code: UInt16, value: [UInt8])

    static func options(_ options: [Option], bigEndian: Bool, end: Bool = true) -> [UInt8] {
        guard !options.isEmpty else { return [] }
        var b = ByteBuilder(bigEndian: bigEndian)
        for o in options {
            b.u16(o.code)
            b.u16(UInt16(o.value.count))
            b.raw(o.value)
            b.pad4()
        }
        if end { b.u32(0) }
        return b.bytes
    }

    static func string(_ code: UInt16, _ s: String) -> Option { (code, Array(s.utf8)) }

    static func int<T: FixedWidthInteger>(_ code: UInt16, _ v: T, bigEndian: Bool) -> Option {
        (code, withUnsafeBytes(of: bigEndian ? v.bigEndian : v.littleEndian) { Array($0) })
    }

    /// A block; `length`/`trailer` override the computed total length.
    static func block(_ type: UInt32, _ body: [UInt8], bigEndian: Bool, length: UInt32? = nil,
                      trailer: UInt32? = nil) -> [UInt8] {
        var b = ByteBuilder(bigEndian: bigEndian)
        let total = UInt32(12 + body.count)
        b.u32(type)
        b.u32(length ?? total)
        b.raw(body)
        b.u32(trailer ?? length ?? total)
        return b.bytes
    }

    static func shb(bigEndian: Bool = false, version: (UInt16, UInt16) = (1, 0), options opts: [Option] = [])
        -> [UInt8] {
        var b = ByteBuilder(bigEndian: bigEndian)
        b.u32(0x1A2B_3C4D)
        b.u16(version.0)
        b.u16(version.1)
        b.u64(UInt64.max)
        b.raw(options(opts, bigEndian: bigEndian))
        return block(0x0A0D_0D0A, b.bytes, bigEndian: bigEndian)
    }

    static func idb(bigEndian: Bool = false, linkType: UInt16 = 1, snaplen: UInt32 = 0,
                    options opts: [Option] = []) -> [UInt8] {
        var b = ByteBuilder(bigEndian: bigEndian)
        b.u16(linkType)
        b.u16(0)
        b.u32(snaplen)
        b.raw(options(opts, bigEndian: bigEndian))
        return block(1, b.bytes, bigEndian: bigEndian)
    }

    static func epb(bigEndian: Bool = false, interface: UInt32 = 0, units: UInt64, data: [UInt8],
                    orig: UInt32? = nil, caplen: UInt32? = nil, options opts: [Option] = [],
                    type: UInt32 = 6) -> [UInt8] {
        var b = ByteBuilder(bigEndian: bigEndian)
        if type == 2 {
            b.u16(UInt16(interface))
            b.u16(0xFFFF)   // drops unknown
        } else {
            b.u32(interface)
        }
        b.u32(UInt32(truncatingIfNeeded: units >> 32))
        b.u32(UInt32(truncatingIfNeeded: units))
        b.u32(caplen ?? UInt32(data.count))
        b.u32(orig ?? UInt32(data.count))
        b.raw(data)
        b.pad4()
        b.raw(options(opts, bigEndian: bigEndian))
        return block(type, b.bytes, bigEndian: bigEndian)
    }

    static func spb(bigEndian: Bool = false, orig: UInt32, data: [UInt8]) -> [UInt8] {
        var b = ByteBuilder(bigEndian: bigEndian)
        b.u32(orig)
        b.raw(data)
        b.pad4()
        return block(3, b.bytes, bigEndian: bigEndian)
    }
}

/// Deterministic packet bytes.
func payload(_ n: Int, seed: Int = 1) -> [UInt8] {
    (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7) }
}

/// A test case with a fresh temporary directory per test, removed afterwards.
class TemporaryDirectoryTestCase: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try FilesSupport.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}
