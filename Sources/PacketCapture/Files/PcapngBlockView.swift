/// A pcapng block that is not a packet (Section Header, Interface Description,
/// Name Resolution, Interface Statistics, Decryption Secrets, custom or unknown),
/// as `CaptureFile.forEachRecord` hands it out. Like a `PacketView`, it is valid
/// only during the callback (or, from a `CaptureFile.PacketIterator`, until the
/// iterator's next call on a stream).
public struct PcapngBlockView {
    /// The block type number (1 = IDB, 4 = NRB, 5 = ISB, 0x0A = DSB, 0xBAD = custom, ...).
    public let type: UInt32
    /// The whole block, in the file's byte order (`isByteSwapped`); valid as a
    /// `PacketView`'s bytes are (checked in debug builds).
    public var bytes: UnsafeRawBufferPointer {
        #if DEBUG
        validity.check("PcapngBlockView")
        #endif
        return unsafeBytes
    }
    let unsafeBytes: UnsafeRawBufferPointer
    public let isByteSwapped: Bool
    public let sectionIndex: Int
    public let fileOffset: Int
    /// For an Interface Description Block: the id it defines.
    public let interfaceIndex: Int
    /// The file the block is in (for writers that map its interfaces). Not
    /// retained: the walk that hands out the view holds the file.
    unowned(unsafe) let unownedFile: CaptureFile
    var file: CaptureFile {
        #if DEBUG
        validity.check("PcapngBlockView")
        #endif
        return unownedFile
    }
    #if DEBUG
    let validity: ViewValidity
    #endif

    init(type: UInt32, bytes: UnsafeRawBufferPointer, isByteSwapped: Bool, sectionIndex: Int, fileOffset: Int,
         interfaceIndex: Int, file: CaptureFile) {
        self.type = type
        self.unsafeBytes = bytes
        self.isByteSwapped = isByteSwapped
        self.sectionIndex = sectionIndex
        self.fileOffset = fileOffset
        self.interfaceIndex = interfaceIndex
        self.unownedFile = file
        #if DEBUG
        validity = ViewValidity(file)
        #endif
    }
}

/// One step of a walk over a capture file: a packet, or a pcapng block that is not one.
public enum CaptureFileRecord {
    case packet(PacketView)
    case block(PcapngBlockView)
}

extension BlockType {
    static let decryptionSecrets: UInt32 = 0x0A
    static let systemdJournal: UInt32 = 9
    static let customCopyable: UInt32 = 0x0000_0BAD
    static let customDoNotCopy: UInt32 = 0x4000_0BAD
}

/// A block to copy to a file written in host byte order: the block itself, or
/// a byte-swapped copy when the fields are known; nil when it must not be copied
/// ("do not copy" custom blocks, unknown blocks of the other byte order).
func hostOrderBlock(_ block: UnsafeRawBufferPointer, type: UInt32, swapped: Bool) -> [UInt8]? {
    if type == BlockType.customDoNotCopy { return nil }
    var out = Array(block)
    guard swapped else { return out }
    let length = out.count
    func swap(_ at: Int, _ width: Int) {
        guard at >= 0, at + width <= length else { return }
        out[at..<(at + width)].reverse()
    }
    func hostU16(_ at: Int) -> Int {
        out.withUnsafeBytes { Int($0.baseAddress!.loadUnaligned(fromByteOffset: at, as: UInt16.self)) }
    }
    func hostU32(_ at: Int) -> Int {
        out.withUnsafeBytes { Int($0.baseAddress!.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    }
    /// Swaps an option list in place, from `start` to the trailer.
    func swapOptions(from start: Int) {
        var at = start
        while at + 4 <= length - 4 {
            swap(at, 2)
            swap(at + 2, 2)
            let code = UInt16(hostU16(at))
            let valueLength = hostU16(at + 2)
            if code == 0 { break }
            var field = at + 4
            for width in integerFieldWidths(blockType: type, code: code) where field + width <= at + 4 + valueLength {
                swap(field, width)
                field += width
            }
            at += 4 + ((valueLength + 3) & ~3)
        }
    }
    swap(0, 4)
    swap(4, 4)
    swap(length - 4, 4)
    switch type {
    case BlockType.nameResolution:
        var at = 8
        while at + 4 <= length - 4 {
            swap(at, 2)
            swap(at + 2, 2)
            let recordType = hostU16(at)
            let recordLength = hostU16(at + 2)
            at += 4 + ((recordLength + 3) & ~3)
            if recordType == 0 { break }
        }
        swapOptions(from: at)
    case BlockType.interfaceStatistics:
        swap(8, 4)
        swap(12, 4)
        swap(16, 4)
        swapOptions(from: 20)
    case BlockType.decryptionSecrets:
        swap(8, 4)
        swap(12, 4)
        let secretsLength = length >= 16 ? hostU32(12) : 0
        swapOptions(from: 16 + ((secretsLength + 3) & ~3))
    case BlockType.customCopyable:
        swap(8, 4)   // Private Enterprise Number; the data is opaque
    case BlockType.systemdJournal:
        break        // text
    default:
        return nil
    }
    return out
}
