#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A pcap or pcapng file opened for reading.
///
/// Regular files are memory-mapped (`MAP_PRIVATE`, `PROT_READ`) and walked in
/// place; standard input (`"-"`) and pipes are read as a stream through a
/// bounded buffer. The API is the same for both:
///
/// ```swift
/// let file = try CaptureFile(path: "in.pcapng")
/// try file.forEachPacket { view in count += view.wireLength }   // no allocation per packet
/// var views = file.makePacketIterator()                          // the same, pulled
/// while let view = try views.next() { ... }
/// for try await packet in file.packets { ... }                   // copies, in batches
/// let tcp = PacketFilter("tcp")                                  // compiled by the helper
/// try await file.forEachPacket(matching: tcp) { view in ... }
/// ```
///
/// A mapped file can be walked any number of times, each walk from the start.
/// A stream can be walked once: a later walk continues after the last record
/// the previous one handed out.
///
/// A damaged file yields every complete packet, then throws `CaptureFileError`
/// with the offset of the damage.
public final class CaptureFile {
    /// The path given to open the file ("-" for standard input).
    public let path: String
    public let format: CaptureFileFormat
    /// The file header of a classic pcap file; nil for pcapng.
    public let pcapHeader: PcapFileHeader?
    /// How errors name the file.
    var displayName: String { path == "-" ? "standard input" : path }
    /// Whether the file is read as a stream (standard input, a pipe) rather than mapped.
    public var isStream: Bool { stream != nil }
    /// The file's size, for a mapped file.
    public var byteCount: Int? { stable?.count }

    let stable: StableBytes?
    let stream: StreamBuffer?
    let log = SectionLog()
    private var scanned = false
    /// A stream's reading position, kept between walks.
    var streamWalker: Walker?
    var streamFailure: CaptureFileError?
    /// Keeps the walkers' read-ahead loads observable (see `ByteWindow.touch`).
    var touched: UInt8 = 0
    /// Where the async APIs read a stream (see `StreamReadExecutor`).
    private var readExecutor: StreamReadExecutor?

    /// nil for a mapped file (reading it does not block); for a stream, the
    /// executor whose thread does the blocking reads, started on first use.
    func streamReadExecutor() throws(CaptureFileError) -> StreamReadExecutor? {
        guard isStream else { return nil }
        if let readExecutor { return readExecutor }
        let started = try StreamReadExecutor.start(for: displayName)
        readExecutor = started
        return started
    }

    deinit {
        readExecutor?.shutdown()
    }

    /// Opens `path`; "-" reads standard input as a stream.
    public convenience init(path: String) throws(CaptureFileError) {
        if path == "-" {
            try self.init(stream: StreamBuffer(fd: 0, ownsDescriptor: false, path: "standard input"), path: path)
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw .systemCall("open", errno: e, path: path,
                              hint: e == ENOENT ? "check the path" : e == EACCES ? "check the file's permissions" : "")
        }
        try self.init(fileDescriptor: fd, ownsDescriptor: true, path: path)
    }

    /// Reads from an open descriptor: mapped when it is a regular file, read as
    /// a stream otherwise. With `ownsDescriptor`, the file closes it.
    public convenience init(fileDescriptor fd: Int32, ownsDescriptor: Bool = false, path: String? = nil)
        throws(CaptureFileError) {
        let name = path ?? "fd \(fd)"
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            if ownsDescriptor { closeDescriptor(fd) }
            throw .systemCall("fstat", errno: e, path: name)
        }
        let kind = st.st_mode & S_IFMT
        if kind == S_IFDIR {
            if ownsDescriptor { closeDescriptor(fd) }
            throw CaptureFileError(code: .systemCallFailed, offset: nil,
                                   message: "this is a directory, not a capture file", systemCall: SystemCallError(systemCall: "read", errno: EISDIR), path: name)
        }
        if kind == S_IFREG && lseek(fd, 0, SEEK_CUR) == 0 {
            let mapped: StableBytes
            do {
                mapped = try StableBytes.map(fd: fd, size: Int(st.st_size), path: name)
            } catch {
                if ownsDescriptor { closeDescriptor(fd) }
                throw error
            }
            if ownsDescriptor { closeDescriptor(fd) }
            try self.init(stable: mapped, path: name)
        } else {
            try self.init(stream: StreamBuffer(fd: fd, ownsDescriptor: ownsDescriptor, path: name), path: name)
        }
    }

    /// Reads a capture file held in memory (the bytes are copied once).
    public convenience init(bytes: some Collection<UInt8>, path: String = "<memory>") throws(CaptureFileError) {
        try self.init(stable: StableBytes.copying(bytes), path: path)
    }

    private convenience init(stable: StableBytes, path: String) throws(CaptureFileError) {
        try self.init(window: ByteWindow(stable: stable), stable: stable, stream: nil, path: path)
    }

    private convenience init(stream: StreamBuffer, path: String) throws(CaptureFileError) {
        try self.init(window: ByteWindow(stream: stream), stable: nil, stream: stream, path: path)
    }

    private init(window: ByteWindow, stable: StableBytes?, stream: StreamBuffer?, path: String)
        throws(CaptureFileError) {
        self.path = path
        self.stable = stable
        self.stream = stream
        var window = window
        do {
            (format, pcapHeader) = try Self.detect(&window)
        } catch {
            throw error.with(path: path == "-" ? "standard input" : path)
        }
        if format == .pcapng {
            // Check the first section header now, so a bad one fails the open.
            var walker = PcapngWalker(window: window, file: self, scanOnly: true)
            do {
                try walker.checkFirstSectionHeader()
            } catch {
                throw error.with(path: displayName)
            }
        }
    }

    // MARK: Anomalies

    /// How many distinct packets read so far (by any walk, `countPackets`
    /// included) claim fewer bytes on the wire than they captured. Such packets
    /// are handed out as the file says (`PacketView.hasWireLengthBelowCaptureLength`);
    /// a walk over a part already walked does not count them again.
    public private(set) var wireLengthBelowCaptureLengthCount = 0
    /// Anomalies at offsets below this were counted by an earlier walk.
    private var anomaliesCountedThrough = 0

    /// Called by the walkers (rarely: only for a broken record).
    @inline(never)
    func noteWireLengthBelowCaptureLength(at recordOffset: Int) {
        guard recordOffset >= anomaliesCountedThrough else { return }
        wireLengthBelowCaptureLengthCount += 1
        anomaliesCountedThrough = recordOffset + 1
    }

    // MARK: Structure

    /// The pcapng sections and their interfaces: all of them for a mapped file
    /// (found by a quick walk over block headers the first time), those read so
    /// far for a stream. Empty for pcap.
    public var sections: [PcapngSection] {
        scanIfNeeded()
        return log.sections
    }

    /// Every link-layer type in the file, in order of first appearance.
    ///
    /// Cheap: for pcap it is in the header; for a mapped pcapng file it takes a
    /// walk over block headers (packet bytes are not touched), once. For a pcapng
    /// stream it lists the interfaces read so far (see `linkTypesAreComplete`).
    public func linkTypes() -> [LinkType] {
        if let pcapHeader { return [pcapHeader.linkType] }
        var seen: [LinkType] = []
        for section in sections {
            for interface in section.interfaces where !seen.contains(interface.linkType) {
                seen.append(interface.linkType)
            }
        }
        return seen
    }

    /// Whether `linkTypes()` is known to list every link type of the file: true
    /// except for a pcapng stream, where interfaces may still come.
    public var linkTypesAreComplete: Bool { format == .pcap || !isStream }

    private func scanIfNeeded() {
        guard let stable, !scanned, format == .pcapng else { return }
        scanned = true
        var walker = PcapngWalker(window: ByteWindow(stable: stable), file: self, scanOnly: true)
        _ = try? walker.next()
    }

    // MARK: Format detection

    private static func detect(_ window: inout ByteWindow) throws(CaptureFileError)
        -> (CaptureFileFormat, PcapFileHeader?) {
        guard let p = try window.bytes(at: 0, count: 4) else {
            let n = window.available(from: 0)
            if n == 0 {
                throw CaptureFileError(code: .truncated, offset: 0,
                                       message: "the file is empty: a capture file starts with a 24-byte pcap "
                                           + "header or a pcapng Section Header Block")
            }
            let first = window.base.map { Array(UnsafeRawBufferPointer(start: $0, count: n)) } ?? []
            if Self.knownMagics.contains(where: { $0.starts(with: first) }) {
                throw CaptureFileError(code: .truncated, offset: 0,
                                       message: "the file has only \(n) bytes, the start of a capture file "
                                           + "header; it was cut short")
            }
            throw unknownFormat(first)
        }
        switch p.loadU32(0, false) {
        case 0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1:
            guard let h = try window.bytes(at: 0, count: PcapFileHeader.byteCount) else {
                let n = window.available(from: 0)
                throw CaptureFileError(code: .truncated, offset: 0,
                                       message: "the file ends \(n) bytes into the 24-byte pcap file header; "
                                           + "it was cut short before any packet")
            }
            return (.pcap, try PcapFileHeader.parse(h))
        case BlockType.sectionHeader:
            return (.pcapng, nil)
        default:
            let n = min(window.available(from: 0), 64)
            let q = try window.bytes(at: 0, count: n)!
            throw unknownFormat(Array(UnsafeRawBufferPointer(start: q, count: n)))
        }
    }

    private static let knownMagics: [[UInt8]] = [
        [0xD4, 0xC3, 0xB2, 0xA1], [0xA1, 0xB2, 0xC3, 0xD4], [0x4D, 0x3C, 0xB2, 0xA1], [0xA1, 0xB2, 0x3C, 0x4D],
        [0x0A, 0x0D, 0x0D, 0x0A],
    ]

    static func unknownFormat(_ first: [UInt8]) -> CaptureFileError {
        let hex = first.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
        var message = "unknown file format: the file starts with bytes \(hex), which is neither a pcap "
            + "(a1 b2 c3 d4 / a1 b2 3c 4d, either byte order) nor a pcapng (0a 0d 0d 0a) magic number"
        if let hint = hint(for: first) { message += "; \(hint)" }
        return CaptureFileError(code: .unknownFormat, offset: 0, message: message)
    }

    static func hint(for b: [UInt8]) -> String? {
        func starts(_ prefix: [UInt8]) -> Bool { b.starts(with: prefix) }
        if starts([0x1F, 0x8B]) {
            return "this looks like gzip-compressed data: decompress it first (gunzip -c FILE | swiftcap read -)"
        }
        if starts([0x28, 0xB5, 0x2F, 0xFD]) {
            return "this looks like zstd-compressed data: decompress it first (zstd -dc FILE | swiftcap read -)"
        }
        if starts(Array("BZh".utf8)) { return "this looks like bzip2-compressed data: decompress it first (bunzip2 -c)" }
        if starts([0xFD] + Array("7zXZ".utf8)) { return "this looks like xz-compressed data: decompress it first (xz -dc)" }
        if starts(Array("PK".utf8) + [3, 4]) { return "this looks like a zip archive: extract the capture from it" }
        if starts([0xA1, 0xB2, 0xCD, 0x34]) || starts([0x34, 0xCD, 0xB2, 0xA1]) {
            return "this looks like Alexey Kuznetzov's modified pcap format, which is not supported: "
                + "convert it with `editcap -F pcap FILE OUT`"
        }
        if starts(Array("snoop".utf8) + [0, 0, 0]) {
            return "this looks like a Solaris snoop capture: convert it with `editcap -F pcap FILE OUT`"
        }
        if starts(Array("GMBU".utf8)) {
            return "this looks like a Microsoft Network Monitor capture: convert it with `editcap -F pcapng FILE OUT`"
        }
        if starts(Array("XCP\0".utf8)) {
            return "this looks like a NetXray/Sniffer capture: convert it with `editcap -F pcapng FILE OUT`"
        }
        if starts([0x7F] + Array("ELF".utf8)) { return "this looks like an executable, not a capture" }
        if !b.isEmpty && b.allSatisfy({ $0 == 9 || $0 == 10 || $0 == 13 || (0x20..<0x7F).contains($0) }) {
            return "this looks like text (printed tcpdump/tshark output or a hex dump?): "
                + "text2pcap turns a hex dump into a capture file"
        }
        return nil
    }
}
