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
public final class CaptureFileWriter {
    public struct Options: Sendable {
        /// For pcap: µs or ns timestamps. `nil` (the default) chooses from the first
        /// interface: ns when its timestamps are finer than µs, µs otherwise.
        public var pcapTimestampPrecision: PcapTimestampPrecision?
        /// User-space buffer size in bytes.
        public var bufferSize: Int
        /// For pcapng: the options of the Section Header Block the writer creates
        /// (`shb_hardware`, `shb_os`, `shb_userappl`, comments). By default,
        /// `shb_os` from uname(2) and `shb_userappl` "swiftcap".
        public var sectionOptions: [PcapngOption]

        public init(pcapTimestampPrecision: PcapTimestampPrecision? = nil, bufferSize: Int = 1 << 16,
                    sectionOptions: [PcapngOption]? = nil) {
            self.pcapTimestampPrecision = pcapTimestampPrecision
            self.bufferSize = bufferSize
            self.sectionOptions = sectionOptions ?? Self.defaultSectionOptions()
        }

        static func defaultSectionOptions() -> [PcapngOption] {
            var options: [PcapngOption] = []
            var u = utsname()
            if uname(&u) == 0 {
                func field<T>(_ value: inout T) -> String {
                    withUnsafeBytes(of: &value) { raw in
                        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    }
                }
                options.append(PcapngOption(code: PcapngOption.shbOS,
                                            string: field(&u.sysname) + " " + field(&u.release)))
            }
            options.append(PcapngOption(code: PcapngOption.shbUserApplication, string: "swiftcap"))
            return options
        }
    }

    public let format: CaptureFileFormat
    public let path: String
    /// For pcap: the precision chosen, once the first interface is added.
    public private(set) var pcapTimestampPrecision: PcapTimestampPrecision?
    /// Interfaces of the current section (pcapng) or of the file (pcap).
    public var interfaceCount: Int { interfaces.count }

    struct Interface {
        let linkType: LinkType
        let snapshotLength: UInt32
        let resolution: TimestampResolution
        let timestampOffset: Int64
    }

    /// Which interfaces of a source file's section became which of ours.
    struct SourceBinding {
        let file: ObjectIdentifier
        let section: Int
        /// Source interface id → our interface index (-1: not added yet).
        var map: [Int]
    }

    private let out: OutputBuffer
    private let options: Options
    private var interfaces: [Interface] = []
    private var pendingSectionOptions: [PcapngOption]
    private var sectionWritten = false
    private var pcapHeaderWritten = false
    private var pcapLinkTypeField: UInt32 = 0
    private var binding: SourceBinding?
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

    private func addInterface(linkTypeField: UInt32, snapshotLength: UInt32, resolution: TimestampResolution,
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
            let encoder = OptionEncoder(options: idbOptions)
            let size = 20 + encoder.byteCount
            let p = try out.reserve(size)
            p.put32(BlockType.interfaceDescription, at: 0)
            p.put32(UInt32(size), at: 4)
            p.put16(UInt16(linkTypeField), at: 8)
            p.put16(0, at: 10)
            p.put32(snapshotLength, at: 12)
            encoder.write(to: p, at: 16)
            p.put32(UInt32(size), at: size - 4)
            out.commit(size)
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
        let encoder = OptionEncoder(options: pendingSectionOptions)
        let size = 28 + encoder.byteCount
        let p = try out.reserve(size)
        p.put32(BlockType.sectionHeader, at: 0)
        p.put32(UInt32(size), at: 4)
        p.put32(BlockType.byteOrderMagic, at: 8)
        p.put16(1, at: 12)
        p.put16(0, at: 14)
        p.put64(UInt64.max, at: 16)   // section length: unknown (-1)
        encoder.write(to: p, at: 24)
        p.put32(UInt32(size), at: size - 4)
        out.commit(size)
        sectionWritten = true
    }

    private func writePcapHeader(precision: PcapTimestampPrecision, snapshotLength: UInt32, linkTypeField: UInt32)
        throws(CaptureFileError) {
        let p = try out.reserve(PcapFileHeader.byteCount)
        p.put32(precision.magic, at: 0)
        p.put16(2, at: 4)
        p.put16(4, at: 6)
        p.put32(0, at: 8)
        p.put32(0, at: 12)
        p.put32(snapshotLength, at: 16)
        p.put32(linkTypeField, at: 20)
        out.commit(PcapFileHeader.byteCount)
        pcapHeaderWritten = true
        pcapTimestampPrecision = precision
        pcapLinkTypeField = linkTypeField
    }

    // MARK: Packets

    /// Writes a packet on interface `packet.interfaceIndex`.
    ///
    /// If no interface was added, the first packet adds one for its link type.
    /// pcapng: a packet without timestamp becomes a Simple Packet Block when
    /// that loses nothing (interface 0, no comments, captured length
    /// recoverable), an Enhanced Packet Block with timestamp 0 otherwise.
    /// pcap: a missing timestamp is written as 0; comments are dropped.
    public func write(_ packet: Packet) throws(CaptureFileError) {
        try checkOpen()
        if interfaces.isEmpty && packet.interfaceIndex == 0 {
            try addInterface(linkType: packet.linkType)
        }
        guard packet.interfaceIndex >= 0 && packet.interfaceIndex < interfaces.count else {
            throw invalid("packet names interface \(packet.interfaceIndex) but only \(interfaces.count) "
                + "interface(s) were added; call addInterface first")
        }
        let iface = interfaces[packet.interfaceIndex]
        guard iface.linkType == packet.linkType else {
            throw CaptureFileError(
                code: .linkTypeMismatch, offset: out.position,
                message: "packet has link type \(packet.linkType.rawValue) but its interface "
                    + "\(packet.interfaceIndex) was declared with \(iface.linkType.rawValue); add an "
                    + "interface for that link type\(format == .pcap ? " (in a pcapng file)" : "")", path: path)
        }
        var failure: CaptureFileError?
        packet.bytes.withUnsafeBytes { bytes in
            do throws(CaptureFileError) {
                let wireLength = max(packet.wireLength, bytes.count)
                switch format {
                case .pcap:
                    let (s, f) = pcapTime(packet.timestamp)
                    try writePcapRecord(seconds: s, fraction: f, wireLength: wireLength, bytes: bytes)
                case .pcapng:
                    let comments = packet.comments.map { PcapngOption(code: PcapngOption.comment, string: $0) }
                    if let ts = packet.timestamp {
                        guard let units = iface.resolution.units(seconds: ts.seconds &- iface.timestampOffset,
                                                                 nanoseconds: ts.nanoseconds) else {
                            throw invalid("timestamp \(ts) does not fit interface \(packet.interfaceIndex)'s "
                                + "64-bit timestamps at \(iface.resolution) with offset \(iface.timestampOffset) s; "
                                + "declare the interface with a coarser resolution or a suitable timestampOffset")
                        }
                        try writeEPB(interface: packet.interfaceIndex, units: units, wireLength: wireLength,
                                     bytes: bytes, options: .encoded(OptionEncoder(options: comments)))
                    } else if packet.interfaceIndex == 0 && comments.isEmpty
                                && spbKeepsLength(bytes.count, wireLength, iface) {
                        try writeSPB(wireLength: wireLength, bytes: bytes)
                    } else {
                        try writeEPB(interface: packet.interfaceIndex, units: 0, wireLength: wireLength,
                                     bytes: bytes, options: .encoded(OptionEncoder(options: comments)))
                    }
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
    /// Writing pcap from a source with several link types throws
    /// `.linkTypeMismatch` at the first packet of a second link type.
    public func write(view: PacketView) throws(CaptureFileError) {
        try checkOpen()
        let file = view.file
        let index = try mappedInterface(file, section: view.sectionIndex, interface: view.interfaceIndex)
        switch format {
        case .pcap:
            let s: UInt32, f: UInt32
            if case let .pcap(seconds, fraction, precision) = view.time, precision == pcapTimestampPrecision {
                (s, f) = (seconds, fraction)
            } else {
                (s, f) = pcapTime(view.timestamp)
            }
            try writePcapRecord(seconds: s, fraction: f, wireLength: view.wireLength, bytes: view.bytes)
        case .pcapng:
            if !view.swapped && index == view.interfaceIndex
                && (view.blockType == BlockType.enhancedPacket || view.blockType == BlockType.simplePacket) {
                let size = view.block.count
                let p = try out.reserve(size)
                p.copyMemory(from: view.block.baseAddress!, byteCount: size)
                out.commit(size)
                return
            }
            switch view.time {
            case .none:
                if index == 0 {
                    try writeSPB(wireLength: view.wireLength, bytes: view.bytes)
                } else {
                    try writeEPB(interface: index, units: 0, wireLength: view.wireLength, bytes: view.bytes,
                                 options: .encoded(OptionEncoder(options: [])))
                }
            case let .units(units, _, _):
                // The interface was copied from the source's: same resolution and offset.
                let options: EPBOptions = view.swapped
                    ? .encoded(OptionEncoder(options: view.pcapngOptions))
                    : .raw(view.options)
                try writeEPB(interface: index, units: units, wireLength: view.wireLength, bytes: view.bytes,
                             options: options)
            case let .pcap(seconds, fraction, precision):
                let units = UInt64(seconds) * UInt64(precision.unitsPerSecond) + UInt64(fraction)
                try writeEPB(interface: index, units: units, wireLength: view.wireLength, bytes: view.bytes,
                             options: .encoded(OptionEncoder(options: [])))
            }
        }
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
            let p = try out.reserve(bytes.count)
            bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            out.commit(bytes.count)
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

    // MARK: Source binding

    private func bind(_ file: CaptureFile, section: Int) throws(CaptureFileError) {
        let id = ObjectIdentifier(file)
        if let binding, binding.file == id, binding.section == section { return }
        switch (format, file.format) {
        case (.pcapng, .pcapng):
            let sections = file.sections
            let source = section < sections.count ? sections[section] : nil
            if sectionWritten || binding != nil {
                try beginSection(options: source?.options ?? options.sectionOptions)
            } else if let source {
                pendingSectionOptions = source.options
            }
            binding = SourceBinding(file: id, section: section, map: [])
            try addSourceInterfaces(file, section: section, through: -1)
        case (_, .pcap):
            let header = file.pcapHeader!
            let resolution: TimestampResolution = header.timestampPrecision == .nanoseconds
                ? .nanoseconds : .microseconds
            let linkTypeField = format == .pcap ? header.linkTypeField : header.linkType.rawValue
            var idbOptions = [PcapngOption(code: PcapngOption.ifTimestampResolution, value: [resolution.rawValue])]
            if format == .pcapng, let fcs = header.fcsLength {
                idbOptions.append(PcapngOption(code: PcapngOption.ifFCSLength, value: [UInt8(truncatingIfNeeded: fcs * 8)]))
            }
            let index = try addInterface(linkTypeField: linkTypeField, snapshotLength: header.snapshotLength,
                                         resolution: resolution, timestampOffset: 0, options: idbOptions)
            binding = SourceBinding(file: id, section: 0, map: [index])
        case (.pcap, .pcapng):
            binding = SourceBinding(file: id, section: section, map: [])
        }
    }

    /// pcapng→pcapng: adds the source section's interfaces not added yet, all
    /// those known (and at least through `last`).
    private func addSourceInterfaces(_ file: CaptureFile, section: Int, through last: Int) throws(CaptureFileError) {
        let sections = file.sections
        let known = section < sections.count ? sections[section].interfaces : []
        guard var b = binding else { return }
        while b.map.count < known.count {
            let source = known[b.map.count]
            let index = try addInterface(linkTypeField: source.linkType.rawValue,
                                         snapshotLength: source.snapshotLength, resolution: source.timestampResolution,
                                         timestampOffset: source.timestampOffset, options: source.options)
            b.map.append(index)
            binding = b
        }
        guard last < b.map.count else {
            throw invalid("the packet names interface \(last) of section \(section), which its file has not defined")
        }
    }

    private func mappedInterface(_ file: CaptureFile, section: Int, interface: Int) throws(CaptureFileError) -> Int {
        try bind(file, section: section)
        if interface < binding!.map.count, binding!.map[interface] >= 0 { return binding!.map[interface] }
        switch (format, file.format) {
        case (.pcapng, .pcapng):
            try addSourceInterfaces(file, section: section, through: interface)
            return binding!.map[interface]
        case (.pcap, .pcapng):
            let known = file.sections[section].interfaces
            guard interface < known.count else {
                throw invalid("the packet names interface \(interface) of section \(section), "
                    + "which its file has not defined")
            }
            let source = known[interface]
            let index = try addInterface(linkTypeField: source.linkType.rawValue,
                                         snapshotLength: source.snapshotLength, resolution: source.timestampResolution,
                                         timestampOffset: source.timestampOffset, options: [])
            var b = binding!
            while b.map.count <= interface { b.map.append(-1) }
            b.map[interface] = index
            binding = b
            return index
        default:
            throw invalid("a pcap file has one interface, 0; the packet names \(interface)")
        }
    }

    // MARK: Records

    enum EPBOptions {
        case raw(UnsafeRawBufferPointer)
        case encoded(OptionEncoder)

        var byteCount: Int {
            switch self {
            case let .raw(bytes): return (bytes.count + 3) & ~3
            case let .encoded(encoder): return encoder.byteCount
            }
        }
    }

    private func pcapTime(_ timestamp: Timestamp?) -> (UInt32, UInt32) {
        guard let ts = timestamp else { return (0, 0) }
        let precision = pcapTimestampPrecision ?? .microseconds
        return (UInt32(truncatingIfNeeded: ts.seconds), ts.nanoseconds / precision.nanosecondsPerUnit)
    }

    @inline(__always)
    private func writePcapRecord(seconds: UInt32, fraction: UInt32, wireLength: Int, bytes: UnsafeRawBufferPointer)
        throws(CaptureFileError) {
        let size = 16 + bytes.count
        let p = try out.reserve(size)
        p.put32(seconds, at: 0)
        p.put32(fraction, at: 4)
        p.put32(UInt32(bytes.count), at: 8)
        p.put32(UInt32(truncatingIfNeeded: wireLength), at: 12)
        if let base = bytes.baseAddress, bytes.count > 0 { (p + 16).copyMemory(from: base, byteCount: bytes.count) }
        out.commit(size)
    }

    private func writeEPB(interface: Int, units: UInt64, wireLength: Int, bytes: UnsafeRawBufferPointer,
                          options: EPBOptions) throws(CaptureFileError) {
        let padded = (bytes.count + 3) & ~3
        let size = 32 + padded + options.byteCount
        let p = try out.reserve(size)
        p.put32(BlockType.enhancedPacket, at: 0)
        p.put32(UInt32(size), at: 4)
        p.put32(UInt32(interface), at: 8)
        p.put32(UInt32(truncatingIfNeeded: units >> 32), at: 12)
        p.put32(UInt32(truncatingIfNeeded: units), at: 16)
        p.put32(UInt32(bytes.count), at: 20)
        p.put32(UInt32(truncatingIfNeeded: wireLength), at: 24)
        _ = p.putPadded(bytes, at: 28)
        switch options {
        case let .raw(raw): _ = p.putPadded(raw, at: 28 + padded)
        case let .encoded(encoder): encoder.write(to: p, at: 28 + padded)
        }
        p.put32(UInt32(size), at: size - 4)
        out.commit(size)
    }

    private func writeSPB(wireLength: Int, bytes: UnsafeRawBufferPointer) throws(CaptureFileError) {
        let size = 16 + ((bytes.count + 3) & ~3)
        let p = try out.reserve(size)
        p.put32(BlockType.simplePacket, at: 0)
        p.put32(UInt32(size), at: 4)
        p.put32(UInt32(truncatingIfNeeded: wireLength), at: 8)
        _ = p.putPadded(bytes, at: 12)
        p.put32(UInt32(size), at: size - 4)
        out.commit(size)
    }

    /// Whether a reader recovers `caplen` from an SPB: min(original length,
    /// snaplen, room in the block).
    private func spbKeepsLength(_ caplen: Int, _ wireLength: Int, _ iface: Interface) -> Bool {
        var recovered = min(wireLength, (caplen + 3) & ~3)
        if iface.snapshotLength != 0 { recovered = min(recovered, Int(iface.snapshotLength)) }
        return recovered == caplen
    }

    // MARK: Errors

    private func checkOpen() throws(CaptureFileError) {
        if closed { throw invalid("the writer is closed") }
    }

    private func invalid(_ message: String) -> CaptureFileError {
        CaptureFileError(code: .invalidArgument, offset: out.position, message: message, path: path)
    }
}
