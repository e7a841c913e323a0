/// Encoders of the records and blocks a `CaptureFileWriter` writes: the pcap
/// file header and records, and the pcapng blocks (SHB, IDB, EPB, SPB, copies).
/// Each encodes one whole record straight into the output buffer, in host byte
/// order, so the buffer only ever holds whole records.
extension OutputBuffer {
    /// The 24-byte pcap file header (version 2.4).
    func writePcapFileHeader(precision: PcapTimestampPrecision, snapshotLength: UInt32, linkTypeField: UInt32)
        throws(CaptureFileError) {
        let p = try reserve(PcapFileHeader.byteCount)
        p.put32(precision.magic, at: 0)
        p.put16(2, at: 4)
        p.put16(4, at: 6)
        p.put32(0, at: 8)
        p.put32(0, at: 12)
        p.put32(snapshotLength, at: 16)
        p.put32(linkTypeField, at: 20)
        commit(PcapFileHeader.byteCount)
    }

    /// One pcap record: 16-byte header, then the captured bytes. `wireLength`
    /// is written as given, even below the captured length (the reader reports
    /// it as stored).
    @inline(__always)
    func writePcapRecord(seconds: UInt32, fraction: UInt32, wireLength: UInt32, bytes: UnsafeRawBufferPointer)
        throws(CaptureFileError) {
        let size = 16 + bytes.count
        let p = try reserve(size)
        p.put32(seconds, at: 0)
        p.put32(fraction, at: 4)
        p.put32(UInt32(bytes.count), at: 8)
        p.put32(wireLength, at: 12)
        if let base = bytes.baseAddress, bytes.count > 0 { (p + 16).copyMemory(from: base, byteCount: bytes.count) }
        commit(size)
    }

    /// A Section Header Block, version 1.0, section length unknown.
    func writeSectionHeaderBlock(options: [PcapngOption]) throws(CaptureFileError) {
        let encoder = OptionEncoder(options: options)
        let size = 28 + encoder.byteCount
        let p = try reserve(size)
        p.put32(BlockType.sectionHeader, at: 0)
        p.put32(UInt32(size), at: 4)
        p.put32(BlockType.byteOrderMagic, at: 8)
        p.put16(1, at: 12)
        p.put16(0, at: 14)
        p.put64(UInt64.max, at: 16)   // section length: unknown (-1)
        encoder.write(to: p, at: 24)
        p.put32(UInt32(size), at: size - 4)
        commit(size)
    }

    /// An Interface Description Block.
    func writeInterfaceDescriptionBlock(linkType: UInt16, snapshotLength: UInt32, options: [PcapngOption])
        throws(CaptureFileError) {
        let encoder = OptionEncoder(options: options)
        let size = 20 + encoder.byteCount
        let p = try reserve(size)
        p.put32(BlockType.interfaceDescription, at: 0)
        p.put32(UInt32(size), at: 4)
        p.put16(linkType, at: 8)
        p.put16(0, at: 10)
        p.put32(snapshotLength, at: 12)
        encoder.write(to: p, at: 16)
        p.put32(UInt32(size), at: size - 4)
        commit(size)
    }

    /// An Enhanced Packet Block; `units` is the timestamp in the interface's resolution.
    func writeEnhancedPacketBlock(interface: Int, units: UInt64, wireLength: UInt32, bytes: UnsafeRawBufferPointer,
                                  options: EPBOptions) throws(CaptureFileError) {
        let padded = (bytes.count + 3) & ~3
        let size = 32 + padded + options.byteCount
        let p = try reserve(size)
        p.put32(BlockType.enhancedPacket, at: 0)
        p.put32(UInt32(size), at: 4)
        p.put32(UInt32(interface), at: 8)
        p.put32(UInt32(truncatingIfNeeded: units >> 32), at: 12)
        p.put32(UInt32(truncatingIfNeeded: units), at: 16)
        p.put32(UInt32(bytes.count), at: 20)
        p.put32(wireLength, at: 24)
        _ = p.putPadded(bytes, at: 28)
        switch options {
        case let .raw(raw): _ = p.putPadded(raw, at: 28 + padded)
        case let .encoded(encoder): encoder.write(to: p, at: 28 + padded)
        }
        p.put32(UInt32(size), at: size - 4)
        commit(size)
    }

    /// A Simple Packet Block (interface 0, no timestamp). A reader recovers the
    /// captured length only when `simplePacketBlockKeeps` says so.
    func writeSimplePacketBlock(wireLength: UInt32, bytes: UnsafeRawBufferPointer) throws(CaptureFileError) {
        let size = 16 + ((bytes.count + 3) & ~3)
        let p = try reserve(size)
        p.put32(BlockType.simplePacket, at: 0)
        p.put32(UInt32(size), at: 4)
        p.put32(wireLength, at: 8)
        _ = p.putPadded(bytes, at: 12)
        p.put32(UInt32(size), at: size - 4)
        commit(size)
    }

    /// A block (or record) copied as it is.
    func writeVerbatim(_ bytes: UnsafeRawBufferPointer) throws(CaptureFileError) {
        let p = try reserve(bytes.count)
        if let base = bytes.baseAddress, bytes.count > 0 { p.copyMemory(from: base, byteCount: bytes.count) }
        commit(bytes.count)
    }
}

/// Whether a reader recovers `captureLength` from a Simple Packet Block, which
/// stores only the wire length: it takes min(wire length, room in the block,
/// snapshot length).
func simplePacketBlockKeeps(captureLength: Int, wireLength: Int, snapshotLength: UInt32) -> Bool {
    var recovered = min(wireLength, (captureLength + 3) & ~3)
    if snapshotLength != 0 { recovered = min(recovered, Int(snapshotLength)) }
    return recovered == captureLength
}

/// The options area of an Enhanced Packet Block: copied from a source block of
/// the same byte order, or encoded.
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

/// Options to encode, in host byte order.
struct OptionEncoder {
    var options: [PcapngOption]

    /// Bytes the options take, with opt_endofopt; 0 when there are none.
    var byteCount: Int {
        if options.isEmpty { return 0 }
        return options.reduce(4) { $0 + 4 + (($1.value.count + 3) & ~3) }
    }

    func write(to p: UnsafeMutableRawPointer, at offset: Int) {
        guard !options.isEmpty else { return }
        var at = offset
        for option in options {
            p.put16(option.code, at: at)
            p.put16(UInt16(option.value.count), at: at + 2)
            at += 4
            at += option.value.withUnsafeBytes { p.putPadded($0, at: at) }
        }
        p.put32(0, at: at)
    }
}
