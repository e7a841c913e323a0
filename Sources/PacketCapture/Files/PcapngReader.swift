// pcapng: a sequence of blocks (type u32, total length u32, body, total length
// u32), in sections that each start with a Section Header Block fixing the
// byte order and restarting interface numbering.

/// What a packet block needs to know about its interface.
struct InterfaceState {
    let linkType: LinkType
    let snapshotLength: UInt32
    /// Longest captured length an EPB may claim.
    let captureLimit: Int
    let resolution: TimestampResolution
    let timestampOffset: Int64
}

/// Sections and interfaces seen so far, for `CaptureFile.sections` and writers.
final class SectionLog {
    var sections: [PcapngSection] = []
}

struct PcapngWalker {
    var window: ByteWindow
    var offset = 0
    var swapped = false
    var sectionIndex = -1
    var interfaces: [InterfaceState] = []
    var packetCount = 0
    /// Sum of the bytes touched ahead (see `ByteWindow.touch`).
    var touched: UInt8 = 0
    var touchMark = 0
    /// Only follow SHBs and IDBs (for `linkTypes()` and `sections`).
    let scanOnly: Bool
    unowned(unsafe) let file: CaptureFile

    init(window: ByteWindow, file: CaptureFile, scanOnly: Bool = false) {
        self.window = window
        self.file = file
        self.scanOnly = scanOnly
    }

    static func minimumLength(of type: UInt32) -> Int {
        switch type {
        case BlockType.sectionHeader: return 28
        case BlockType.interfaceDescription: return 20
        case BlockType.enhancedPacket, BlockType.obsoletePacket: return 32
        case BlockType.simplePacket: return 16
        default: return 12
        }
    }

    static func name(of type: UInt32) -> String {
        switch type {
        case BlockType.sectionHeader: return "Section Header Block"
        case BlockType.interfaceDescription: return "Interface Description Block"
        case BlockType.enhancedPacket: return "Enhanced Packet Block"
        case BlockType.simplePacket: return "Simple Packet Block"
        case BlockType.obsoletePacket: return "Packet Block"
        case BlockType.nameResolution: return "Name Resolution Block"
        case BlockType.interfaceStatistics: return "Interface Statistics Block"
        default: return "block of type 0x" + String(type, radix: 16)
        }
    }

    var intactNote: String {
        "The \(packetCount) packets before this offset are intact"
    }

    /// The next packet (other blocks are followed, not handed out), or nil at the end.
    @inline(__always)
    mutating func next() throws(CaptureFileError) -> PacketView? {
        if let epb = nextEnhancedPacketInWindow() {
            return packetView(epb.p, type: BlockType.enhancedPacket, length: epb.length, epb.layout, at: epb.offset)
        }
        guard case .packet(let view)? = try slowNext(handingOutBlocks: false) else { return nil }
        return view
    }

    /// The next packet or, when `blocks`, the next block that is not a packet.
    @inline(__always)
    mutating func nextRecord(blocks: Bool) throws(CaptureFileError) -> CaptureFileRecord? {
        if let epb = nextEnhancedPacketInWindow() {
            return .packet(packetView(epb.p, type: BlockType.enhancedPacket, length: epb.length, epb.layout,
                                      at: epb.offset))
        }
        return try slowNext(handingOutBlocks: blocks)
    }

    /// Moves past the next packet without handing out a view (for counting):
    /// the same checks as `next()`. Returns false at the end of the file.
    @inline(__always)
    mutating func skipPacket() throws(CaptureFileError) -> Bool {
        if let epb = nextEnhancedPacketInWindow() {
            // What `packetView` notes; nothing else of the block is read.
            if Int(epb.p.loadU32(24, swapped)) < epb.layout.captureLength {
                file.noteWireLengthBelowCaptureLength(at: epb.offset)
            }
            return true
        }
        return try slowNext(handingOutBlocks: false) != nil
    }

    /// The fast path: an Enhanced Packet Block of a known interface, all in the
    /// window and sound, moved past; nil for anything else (then `slowNext` decides).
    @inline(__always)
    mutating func nextEnhancedPacketInWindow() -> (p: UnsafeRawPointer, length: Int, layout: PacketLayout, offset: Int)? {
        let blockOffset = offset
        touched &+= window.touch(blockOffset, ahead: touchDistance, mark: &touchMark)
        guard !scanOnly, let h = window.bytesIfPresent(at: blockOffset, count: 32),
              h.loadU32(0, swapped) == BlockType.enhancedPacket else { return nil }
        let length = Int(h.loadU32(4, swapped))
        guard length & 3 == 0, length <= maxBlockLength,
              let layout = packetLayout(h, type: BlockType.enhancedPacket, length: length),
              let p = window.bytesIfPresent(at: blockOffset, count: length),
              Int(p.loadU32(length &- 4, swapped)) == length else { return nil }
        offset = blockOffset &+ length
        packetCount &+= 1
        return (p, length, layout, blockOffset)
    }

    /// Every block kind, every check, every error.
    @inline(never)
    mutating func slowNext(handingOutBlocks blocks: Bool) throws(CaptureFileError) -> CaptureFileRecord? {
        while true {
            let blockOffset = offset
            touched &+= window.touch(blockOffset, ahead: touchDistance, mark: &touchMark)
            guard let h = try window.bytes(at: blockOffset, count: 8) else {
                let left = window.available(from: blockOffset)
                if left == 0 { return nil }
                throw CaptureFileError(
                    code: .truncated, offset: blockOffset,
                    message: "the file ends \(left) bytes into the 8-byte header of a block; the capture was "
                        + "cut short (its writer stopped, or the copy is incomplete). \(intactNote)")
            }
            let blockType: UInt32
            let length: Int
            // 0x0A0D0D0A reads the same in both byte orders.
            if h.loadU32(0, false) == BlockType.sectionHeader {
                blockType = BlockType.sectionHeader
                length = try sectionHeaderByteOrder(at: blockOffset)
            } else {
                blockType = h.loadU32(0, swapped)
                length = Int(h.loadU32(4, swapped))
            }
            try checkLength(length, of: blockType, at: blockOffset)

            switch blockType {
            case BlockType.enhancedPacket, BlockType.obsoletePacket, BlockType.simplePacket:
                if scanOnly {
                    try skip(length, of: blockType, at: blockOffset)
                    offset = blockOffset + length
                    continue
                }
                let p = try wholeBlock(length, of: blockType, at: blockOffset)
                let view = try packet(p, type: blockType, length: length, at: blockOffset)
                offset = blockOffset + length
                packetCount &+= 1
                return .packet(view)
            case BlockType.sectionHeader:
                let p = try wholeBlock(length, of: blockType, at: blockOffset)
                try sectionHeader(p, length: length, at: blockOffset)
                if blocks { return .block(otherBlock(p, type: blockType, length: length, at: blockOffset)) }
            case BlockType.interfaceDescription:
                let p = try wholeBlock(length, of: blockType, at: blockOffset)
                try interfaceDescription(p, length: length, at: blockOffset)
                if blocks { return .block(otherBlock(p, type: blockType, length: length, at: blockOffset)) }
            default:
                if blocks && !scanOnly {
                    let p = try wholeBlock(length, of: blockType, at: blockOffset)
                    return .block(otherBlock(p, type: blockType, length: length, at: blockOffset))
                }
                try skip(length, of: blockType, at: blockOffset)
            }
            offset = blockOffset + length
        }
    }

    // MARK: Lengths

    func checkLength(_ length: Int, of type: UInt32, at blockOffset: Int) throws(CaptureFileError) {
        if length > maxBlockLength {
            throw CaptureFileError(
                code: .recordTooLong, offset: blockOffset,
                message: "the \(Self.name(of: type)) claims a total length of \(length) bytes, above the "
                    + "\(maxBlockLength >> 20) MiB this reader accepts; the file is damaged from this offset on. "
                    + intactNote)
        }
        if length % 4 != 0 {
            throw CaptureFileError(
                code: .invalidBlockLength, offset: blockOffset,
                message: "the \(Self.name(of: type)) has a total length of \(length), which is not a multiple "
                    + "of 4 as pcapng requires; the file is damaged from this offset on. \(intactNote)")
        }
        let minimum = Self.minimumLength(of: type)
        if length < minimum {
            throw CaptureFileError(
                code: .invalidBlockLength, offset: blockOffset,
                message: "the \(Self.name(of: type)) has a total length of \(length), below the \(minimum) "
                    + "bytes such a block needs; the file is damaged from this offset on. \(intactNote)")
        }
    }

    mutating func wholeBlock(_ length: Int, of type: UInt32, at blockOffset: Int)
        throws(CaptureFileError) -> UnsafeRawPointer {
        guard let p = try window.bytes(at: blockOffset, count: length) else {
            throw truncatedBlock(type, length: length, at: blockOffset)
        }
        let trailer = Int(p.loadU32(length - 4, swapped))
        guard trailer == length else { throw mismatch(type, length, trailer, at: blockOffset) }
        return p
    }

    mutating func skip(_ length: Int, of type: UInt32, at blockOffset: Int) throws(CaptureFileError) {
        guard let t = try window.bytes(at: blockOffset + length - 4, count: 4) else {
            throw truncatedBlock(type, length: length, at: blockOffset)
        }
        let trailer = Int(t.loadU32(0, swapped))
        guard trailer == length else { throw mismatch(type, length, trailer, at: blockOffset) }
    }

    func truncatedBlock(_ type: UInt32, length: Int, at blockOffset: Int) -> CaptureFileError {
        let left = window.available(from: blockOffset)
        return CaptureFileError(
            code: .truncated, offset: blockOffset,
            message: "the \(Self.name(of: type)) is \(length) bytes long but the file ends \(left) bytes into it; "
                + "the capture was cut short (its writer stopped, or the copy is incomplete). \(intactNote)")
    }

    func mismatch(_ type: UInt32, _ length: Int, _ trailer: Int, at blockOffset: Int) -> CaptureFileError {
        CaptureFileError(
            code: .blockLengthMismatch, offset: blockOffset,
            message: "the \(Self.name(of: type)) starts with a total length of \(length) but ends with \(trailer); "
                + "the block is damaged or the file was spliced. \(intactNote)")
    }

    // MARK: Blocks
    @inline(__always)
    func packet(_ p: UnsafeRawPointer, type: UInt32, length: Int, at blockOffset: Int)
        throws(CaptureFileError) -> PacketView {
        let block = UnsafeRawBufferPointer(start: p, count: length)
        if type == BlockType.simplePacket {
            guard let iface = interfaces.first else { throw noInterface(type, at: blockOffset) }
            let original = Int(p.loadU32(8, swapped))
            var caplen = min(original, length - 16)
            if iface.snapshotLength != 0 { caplen = min(caplen, Int(iface.snapshotLength)) }
            return PacketView(
                bytes: UnsafeRawBufferPointer(start: p + 12, count: caplen), wireLength: original,
                linkType: iface.linkType, interfaceIndex: 0, sectionIndex: sectionIndex, fileOffset: blockOffset,
                time: .none, block: block, options: UnsafeRawBufferPointer(start: nil, count: 0),
                swapped: swapped, blockType: type, file: file)
        }
        if let layout = packetLayout(p, type: type, length: length) {
            return packetView(p, type: type, length: length, layout, at: blockOffset)
        }
        // Say which check failed.
        let interfaceID = Self.interfaceID(p, type: type, swapped)
        guard interfaceID < interfaces.count else {
            throw interfaces.isEmpty ? noInterface(type, at: blockOffset)
                                     : undefinedInterface(interfaceID, type, at: blockOffset)
        }
        let iface = interfaces[interfaceID]
        let caplen = Int(p.loadU32(20, swapped))
        guard caplen <= iface.captureLimit else {
            throw CaptureFileError(
                code: .recordTooLong, offset: blockOffset,
                message: "the \(Self.name(of: type)) claims a captured length of \(caplen) bytes, more than its "
                    + "interface's snapshot length (\(iface.snapshotLength)) and the \(standardMaxSnapshotLength)"
                    + "-byte maximum allow; the file is damaged from this offset on. \(intactNote)")
        }
        throw CaptureFileError(
            code: .malformedBlock, offset: blockOffset,
            message: "the \(Self.name(of: type)) claims \(caplen) captured bytes but its total length of "
                + "\(length) leaves room for \(length - 32); the block is damaged. \(intactNote)")
    }

    /// Where an Enhanced (or obsolete) Packet Block's parts are.
    struct PacketLayout {
        let interfaceID: Int
        let captureLength: Int
        /// `captureLength` rounded up to 4: where the options start, after offset 28.
        let paddedLength: Int
    }

    @inline(__always)
    static func interfaceID(_ p: UnsafeRawPointer, type: UInt32, _ swapped: Bool) -> Int {
        type == BlockType.enhancedPacket ? Int(p.loadU32(8, swapped)) : Int(p.loadU16(8, swapped))
    }

    /// The one check of an Enhanced (or obsolete) Packet Block's fields, given
    /// its first 32 bytes at `p` and a total `length` already known to be a
    /// multiple of 4 within `maxBlockLength`: a known interface, a captured
    /// length within the interface's limit and within the block. nil when any fails.
    @inline(__always)
    func packetLayout(_ p: UnsafeRawPointer, type: UInt32, length: Int) -> PacketLayout? {
        let interfaceID = Self.interfaceID(p, type: type, swapped)
        let caplen = Int(p.loadU32(20, swapped))
        let padded = (caplen &+ 3) & ~3
        guard padded <= length &- 32, interfaceID < interfaces.count,
              caplen <= interfaces[interfaceID].captureLimit else { return nil }
        return PacketLayout(interfaceID: interfaceID, captureLength: caplen, paddedLength: padded)
    }

    /// The view of a checked Enhanced (or obsolete) Packet Block of `length` bytes at `p`.
    @inline(__always)
    func packetView(_ p: UnsafeRawPointer, type: UInt32, length: Int, _ layout: PacketLayout, at blockOffset: Int)
        -> PacketView {
        let iface = interfaces[layout.interfaceID]
        let caplen = layout.captureLength
        let units = UInt64(p.loadU32(12, swapped)) << 32 | UInt64(p.loadU32(16, swapped))
        let wireLength = Int(p.loadU32(24, swapped))
        if wireLength < caplen { file.noteWireLengthBelowCaptureLength(at: blockOffset) }
        return PacketView(
            bytes: UnsafeRawBufferPointer(start: p + 28, count: caplen),
            wireLength: wireLength,
            linkType: iface.linkType, interfaceIndex: layout.interfaceID, sectionIndex: sectionIndex,
            fileOffset: blockOffset,
            time: .units(units, resolution: iface.resolution, offset: iface.timestampOffset),
            block: UnsafeRawBufferPointer(start: p, count: length),
            options: UnsafeRawBufferPointer(start: p + 28 + layout.paddedLength,
                                            count: length &- 32 &- layout.paddedLength),
            swapped: swapped, blockType: type, file: file)
    }

    /// A view of a block that is not a packet; moves past it.
    mutating func otherBlock(_ p: UnsafeRawPointer, type: UInt32, length: Int, at blockOffset: Int)
        -> PcapngBlockView {
        offset = blockOffset + length
        return PcapngBlockView(
            type: type, bytes: UnsafeRawBufferPointer(start: p, count: length), isByteSwapped: swapped,
            sectionIndex: sectionIndex, fileOffset: blockOffset,
            interfaceIndex: type == BlockType.interfaceDescription ? interfaces.count - 1 : 0, file: file)
    }

    func noInterface(_ type: UInt32, at blockOffset: Int) -> CaptureFileError {
        CaptureFileError(
            code: .packetBeforeInterface, offset: blockOffset,
            message: "a \(Self.name(of: type)) appears before any Interface Description Block of its section "
                + "(section #\(sectionIndex)), so its link-layer type is unknown; the file was written "
                + "incorrectly. \(intactNote)")
    }

    func undefinedInterface(_ id: Int, _ type: UInt32, at blockOffset: Int) -> CaptureFileError {
        CaptureFileError(
            code: .undefinedInterface, offset: blockOffset,
            message: "the \(Self.name(of: type)) refers to interface \(id), but section #\(sectionIndex) "
                + "defines only \(interfaces.count) interface(s) so far; the block is damaged or the "
                + "file was spliced. \(intactNote)")
    }
}
