#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a pcap or pcapng file, to a path or to standard output ("-").
///
/// ```swift
/// let writer = try CaptureFileWriter(path: "out.pcapng", format: .pcapng)
/// let eth0 = try writer.addInterface(linkType: .ethernet, name: "eth0")
/// try writer.write(Packet(timestamp: t, wireLength: n, bytes: b, linkType: .ethernet, interfaceIndex: eth0))
/// try writer.close()
/// ```
///
/// Records are buffered in user space, and the buffer only ever holds whole
/// records: when the next record does not fit, the buffer is written out first.
/// The file therefore always ends at a record boundary, and a reader sees every
/// packet written before the last flush even if this process dies. `flush()`
/// writes the buffer out now; `close()` flushes and closes.
///
/// Packets read from a `CaptureFile` are best written with `write(view:)`:
/// pcapng→pcapng copies blocks verbatim (options such as `epb_flags`, hashes,
/// drop counts and comments included, interface and section headers too), and
/// timestamps keep their original resolution.
///
/// This file is the façade; the records and blocks are encoded in
/// CaptureRecordEncoders.swift, and which interface a packet is written on is
/// decided in CaptureFileWriter+InterfaceMap.swift.
public final class CaptureFileWriter {
    public let format: CaptureFileFormat
    public let path: String
    /// For pcap: the precision chosen, once the first interface is added.
    public private(set) var pcapTimestampPrecision: PcapTimestampPrecision?
    /// Interfaces of the current section (pcapng) or of the file (pcap).
    public var interfaceCount: Int { interfaces.count }

    let out: OutputBuffer
    let options: Options
    var interfaces: [Interface] = []
    var pendingSectionOptions: [PcapngOption]
    var sectionWritten = false
    private var pcapHeaderWritten = false
    private var pcapLinkTypeField: UInt32 = 0
    /// The source file and section whose interfaces `write(view:)` maps.
    var binding: SourceBinding?
    private var closed = false

    /// Creates (or truncates) `path`; "-" writes to standard output.
    public convenience init(path: String, format: CaptureFileFormat, options: Options = Options())
        throws(CaptureFileError) {
        if path == "-" {
            self.init(fileDescriptor: 1, ownsDescriptor: false, path: "standard output", format: format,
                      options: options)
            return
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let e = errno
            throw .systemCall("open", errno: e, path: path,
                              hint: e == ENOENT ? "check that the directory exists"
                                  : e == EACCES ? "check the directory's permissions" : "")
        }
        self.init(fileDescriptor: fd, ownsDescriptor: true, path: path, format: format, options: options)
    }

    /// Writes to an open descriptor; with `ownsDescriptor`, `close()` closes it.
    public init(fileDescriptor: Int32, ownsDescriptor: Bool = false, path: String? = nil,
                format: CaptureFileFormat, options: Options = Options()) {
        self.format = format
        self.path = path ?? "fd \(fileDescriptor)"
        self.options = options
        pendingSectionOptions = options.sectionOptions
        out = OutputBuffer(fd: fileDescriptor, ownsDescriptor: ownsDescriptor, path: self.path,
                           capacity: options.bufferSize)
    }

    deinit {
        try? close()
    }

    // MARK: Interfaces and sections

    /// Declares an interface; packets name it by the returned index.
    ///
    /// For pcap, every interface must have the same link type (the file header
    /// has room for one): a different one throws `.linkTypeMismatch`. The first
    /// interface fixes the header's snapshot length and, when the precision is
    /// automatic, ns vs µs from `timestampResolution`.
    ///
    /// - Parameters:
    ///   - snapshotLength: 0 means no limit (pcap headers get 262144 then).
    ///   - timestampResolution: pcapng `if_tsresol`; nanoseconds by default.
    ///   - timestampOffset: pcapng `if_tsoffset`, in seconds.
    ///   - options: further IDB options (`if_os`, `if_hardware`, comments, ...).
    @discardableResult
    public func addInterface(linkType: LinkType, snapshotLength: Int = 262_144,
                             name: String? = nil, description: String? = nil,
                             timestampResolution: TimestampResolution = .nanoseconds,
                             timestampOffset: Int64 = 0, options: [PcapngOption] = []) throws(CaptureFileError)
        -> Int {
        guard (0...Int(UInt32.max)).contains(snapshotLength) else {
            throw invalid("snapshot length \(snapshotLength) is out of range (0...\(UInt32.max))")
        }
        var all: [PcapngOption] = []
        if let name { all.append(PcapngOption(code: PcapngOption.ifName, string: name)) }
        if let description { all.append(PcapngOption(code: PcapngOption.ifDescription, string: description)) }
        all.append(PcapngOption(code: PcapngOption.ifTimestampResolution, value: [timestampResolution.rawValue]))
        if timestampOffset != 0 {
            all.append(PcapngOption(code: PcapngOption.ifTimestampOffset,
                                    value: withUnsafeBytes(of: timestampOffset) { Array($0) }))
        }
        all += options
        return try addInterface(linkTypeField: linkType.rawValue, snapshotLength: UInt32(snapshotLength),
                                resolution: timestampResolution, timestampOffset: timestampOffset, options: all)
    }

    /// Declares an interface with a raw link-type field (a pcap header's upper
    /// bits included) and the IDB options as given.
    @discardableResult
    func addInterface(linkTypeField: UInt32, snapshotLength: UInt32, resolution: TimestampResolution,
                      timestampOffset: Int64, options idbOptions: [PcapngOption])
        throws(CaptureFileError) -> Int {
        try checkOpen()
        let linkType = LinkType(rawValue: linkTypeField & 0xFFFF)
        switch format {
        case .pcap:
            if !pcapHeaderWritten {
                let precision = options.pcapTimestampPrecision
                    ?? (resolution.isFinerThanMicroseconds ? .nanoseconds : .microseconds)
                try writePcapHeader(precision: precision,
                                    snapshotLength: snapshotLength == 0 ? standardMaxSnapshotLength : snapshotLength,
                                    linkTypeField: linkTypeField)
            } else if linkType.rawValue != pcapLinkTypeField & 0xFFFF {
                throw CaptureFileError(
                    code: .linkTypeMismatch, offset: out.position,
                    message: "a pcap file holds one link-layer type, and this one has \(pcapLinkTypeField & 0xFFFF); "
                        + "an interface of link type \(linkType.rawValue) cannot be added. Write pcapng instead "
                        + "(--format pcapng), or filter the other link types out", path: path)
            }
        case .pcapng:
            guard linkTypeField <= UInt16.max else {
                throw invalid("pcapng link types are 16-bit; \(linkTypeField) does not fit")
            }
            try writeSectionHeaderIfNeeded()
            try out.writeInterfaceDescriptionBlock(linkType: UInt16(linkTypeField), snapshotLength: snapshotLength,
                                                   options: idbOptions)
        }
        interfaces.append(Interface(linkType: linkType, snapshotLength: snapshotLength, resolution: resolution,
                                    timestampOffset: timestampOffset))
        return interfaces.count - 1
    }

    /// pcapng: ends the current section and starts another, whose interfaces
    /// are numbered from 0 again. `nil` options repeat the writer's defaults.
    public func beginSection(options sectionOptions: [PcapngOption]? = nil) throws(CaptureFileError) {
        try checkOpen()
        guard format == .pcapng else { throw invalid("pcap files have no sections") }
        sectionWritten = false
        pendingSectionOptions = sectionOptions ?? options.sectionOptions
        interfaces.removeAll()
        binding = nil
        try writeSectionHeaderIfNeeded()
    }

    /// Declares the interfaces of `file`'s first section (or its pcap header),
    /// so the output is a valid capture file with the same interfaces even if no
    /// packet gets written. pcapng→pcapng takes over the section header's
    /// options too. Packets from the file then go through `write(view:)`.
    public func addInterfaces(of file: CaptureFile) throws(CaptureFileError) {
        try checkOpen()
        try bind(file, section: 0)
        if format == .pcap, file.format == .pcapng {
            let count = file.sections.first?.interfaces.count ?? 0
            for i in 0..<count { _ = try mappedInterface(file, section: 0, interface: i) }
        }
    }

    private func writeSectionHeaderIfNeeded() throws(CaptureFileError) {
        guard format == .pcapng, !sectionWritten else { return }
        try out.writeSectionHeaderBlock(options: pendingSectionOptions)
        sectionWritten = true
    }

    private func writePcapHeader(precision: PcapTimestampPrecision, snapshotLength: UInt32, linkTypeField: UInt32)
        throws(CaptureFileError) {
        try out.writePcapFileHeader(precision: precision, snapshotLength: snapshotLength, linkTypeField: linkTypeField)
        pcapHeaderWritten = true
        pcapTimestampPrecision = precision
        pcapLinkTypeField = linkTypeField
    }

    // MARK: Packets

    /// Writes a packet on interface `packet.interfaceIndex`.
    ///
    /// If no interface was added, the first packet adds one for its link type.
    /// `wireLength` is written as the packet says, even below its captured
    /// length (as `write(view:)` does; readers flag it with
    /// `PacketView.hasWireLengthBelowCaptureLength`).
    /// pcapng: a packet without timestamp becomes a Simple Packet Block when
    /// that loses nothing (interface 0, no comments, captured length
    /// recoverable), an Enhanced Packet Block with timestamp 0 otherwise.
    /// pcap: a missing timestamp is written as 0; comments are dropped.
    public func write(_ packet: Packet) throws(CaptureFileError) {
        try checkOpen()
        let index = try interfaceIndex(for: packet)
        let wireLength = try storedWireLength(packet.wireLength)
        let iface = interfaces[index]
        var failure: CaptureFileError?
        packet.bytes.withUnsafeBytes { bytes in
            do throws(CaptureFileError) {
                switch format {
                case .pcap:
                    let (s, f) = pcapTime(packet.timestamp)
                    try out.writePcapRecord(seconds: s, fraction: f, wireLength: wireLength, bytes: bytes)
                case .pcapng:
                    let comments = packet.comments.map { PcapngOption(code: PcapngOption.comment, string: $0) }
                    var units: UInt64? = nil
                    if let ts = packet.timestamp {
                        guard let u = iface.resolution.units(seconds: ts.seconds &- iface.timestampOffset,
                                                             nanoseconds: ts.nanoseconds) else {
                            throw invalid("timestamp \(ts) does not fit interface \(index)'s "
                                + "64-bit timestamps at \(iface.resolution) with offset \(iface.timestampOffset) s; "
                                + "declare the interface with a coarser resolution or a suitable timestampOffset")
                        }
                        units = u
                    }
                    try writePcapngPacket(on: index, units: units, wireLength: wireLength, bytes: bytes,
                                          options: .encoded(OptionEncoder(options: comments)),
                                          hasOptions: !comments.isEmpty)
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// Writes a packet being read from a `CaptureFile`, adding the interfaces
    /// (and, pcapng→pcapng, the sections) of its file as they are needed.
    ///
    /// pcapng→pcapng keeps blocks verbatim (in host byte order); timestamps keep
    /// the source resolution; pcap→pcap keeps the header's link-type field.
    /// `wireLength` is written as stored, as `write(_:)` does.
    /// Writing pcap from a source with several link types throws
    /// `.linkTypeMismatch` at the first packet of a second link type.
    public func write(view: PacketView) throws(CaptureFileError) {
        try checkOpen()
        let index = try interfaceIndex(for: view)
        let wireLength = try storedWireLength(view.wireLength)
        switch format {
        case .pcap:
            let s: UInt32, f: UInt32
            if case let .pcap(seconds, fraction, precision) = view.time, precision == pcapTimestampPrecision {
                (s, f) = (seconds, fraction)
            } else {
                (s, f) = pcapTime(view.timestamp)
            }
            try out.writePcapRecord(seconds: s, fraction: f, wireLength: wireLength, bytes: view.bytes)
        case .pcapng:
            if !view.swapped && index == view.interfaceIndex
                && (view.blockType == BlockType.enhancedPacket || view.blockType == BlockType.simplePacket) {
                try out.writeVerbatim(view.block)
                return
            }
            switch view.time {
            case .none:
                try writePcapngPacket(on: index, units: nil, wireLength: wireLength, bytes: view.bytes,
                                      options: .encoded(OptionEncoder(options: [])), hasOptions: false)
            case let .units(units, _, _):
                // The interface was copied from the source's: same resolution and offset.
                let options: EPBOptions = view.swapped
                    ? .encoded(OptionEncoder(options: view.pcapngOptions))
                    : .raw(view.options)
                try writePcapngPacket(on: index, units: units, wireLength: wireLength, bytes: view.bytes,
                                      options: options, hasOptions: true)
            case let .pcap(seconds, fraction, precision):
                let units = UInt64(seconds) * UInt64(precision.unitsPerSecond) + UInt64(fraction)
                try writePcapngPacket(on: index, units: units, wireLength: wireLength, bytes: view.bytes,
                                      options: .encoded(OptionEncoder(options: [])), hasOptions: false)
            }
        }
    }

    /// The wire length field of a record: what the packet says, which must fit 32 bits.
    private func storedWireLength(_ wireLength: Int) throws(CaptureFileError) -> UInt32 {
        guard let stored = UInt32(exactly: wireLength) else {
            throw invalid("wire length \(wireLength) is outside 0...\(UInt32.max), which capture files can store; "
                + "pass the packet's length on the wire")
        }
        return stored
    }

    /// pcapng: an Enhanced Packet Block, or without timestamp a Simple Packet
    /// Block when that loses nothing (interface 0, no options, captured length
    /// recoverable from the wire length); an EPB with timestamp 0 otherwise.
    private func writePcapngPacket(on index: Int, units: UInt64?, wireLength: UInt32, bytes: UnsafeRawBufferPointer,
                                   options: EPBOptions, hasOptions: Bool) throws(CaptureFileError) {
        if units == nil && index == 0 && !hasOptions
            && simplePacketBlockKeeps(captureLength: bytes.count, wireLength: Int(wireLength),
                                      snapshotLength: interfaces[index].snapshotLength) {
            try out.writeSimplePacketBlock(wireLength: wireLength, bytes: bytes)
        } else {
            try out.writeEnhancedPacketBlock(interface: index, units: units ?? 0, wireLength: wireLength, bytes: bytes,
                                             options: options)
        }
    }

    /// A pcap record's seconds and fraction (in the header's precision); 0 without a timestamp.
    private func pcapTime(_ timestamp: Timestamp?) -> (UInt32, UInt32) {
        guard let ts = timestamp else { return (0, 0) }
        let precision = pcapTimestampPrecision ?? .microseconds
        return (UInt32(truncatingIfNeeded: ts.seconds), ts.nanoseconds / precision.nanosecondsPerUnit)
    }

    /// Copies a pcapng block that is not a packet, from a file being read with
    /// `CaptureFile.forEachRecord(_:)`: section and interface
    /// headers start sections and declare interfaces (even those without
    /// packets); name resolution, statistics, decryption secrets, copyable custom
    /// blocks and (same byte order) unknown blocks are copied. A pcap writer
    /// ignores them all.
    public func write(block: PcapngBlockView) throws(CaptureFileError) {
        try checkOpen()
        guard format == .pcapng else { return }
        let file = block.file
        try bind(file, section: block.sectionIndex)
        switch block.type {
        case BlockType.sectionHeader:
            return
        case BlockType.interfaceDescription:
            try addSourceInterfaces(file, section: block.sectionIndex, through: block.interfaceIndex)
        default:
            guard var bytes = hostOrderBlock(block.bytes, type: block.type, swapped: block.isByteSwapped) else {
                return
            }
            if block.type == BlockType.interfaceStatistics {
                // Statistics name an interface: renumber it as ours.
                let source = bytes.withUnsafeBytes { Int($0.baseAddress!.loadUnaligned(fromByteOffset: 8, as: UInt32.self)) }
                guard let map = binding?.map, source < map.count, map[source] >= 0 else { return }
                withUnsafeBytes(of: UInt32(map[source])) { bytes.replaceSubrange(8..<12, with: $0) }
            }
            let size = bytes.count
            let p = try out.reserve(size)
            bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: size) }
            out.commit(size)
        }
    }

    /// Copies every packet of `file` (pcapng→pcapng: every block, so nothing
    /// Wireshark shows is lost).
    public func copy(from file: CaptureFile) throws(CaptureFileError) {
        try addInterfaces(of: file)
        do {
            try file.forEachRecord { record in
                switch record {
                case .packet(let view): try self.write(view: view)
                case .block(let block): try self.write(block: block)
                }
                return true
            }
        } catch let error as CaptureFileError {
            throw error
        } catch {
            throw invalid("\(error)")   // not reached: only CaptureFileError is thrown above
        }
    }

    /// Writes the buffered records out.
    public func flush() throws(CaptureFileError) {
        try checkOpen()
        try writeSectionHeaderIfNeeded()
        try out.flush()
    }

    /// Flushes and closes. Further writes throw; closing again does nothing.
    public func close() throws(CaptureFileError) {
        guard !closed else { return }
        closed = true
        do {
            try writeSectionHeaderIfNeeded()
        } catch {
            try? out.close()
            throw error
        }
        try out.close()
    }

    // MARK: Errors

    func checkOpen() throws(CaptureFileError) {
        if closed { throw invalid("the writer is closed") }
    }

    func invalid(_ message: String) -> CaptureFileError {
        CaptureFileError(code: .invalidArgument, offset: out.position, message: message, path: path)
    }
}
