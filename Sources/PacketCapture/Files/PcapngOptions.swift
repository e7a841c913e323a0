// Parsing pcapng option lists: code (u16), length (u16), value padded to 4 bytes,
// ended by opt_endofopt or the end of the block. A malformed list ends where it
// stops making sense: options are metadata, and the packet is still good.

/// Block type numbers.
enum BlockType {
    static let sectionHeader: UInt32 = 0x0A0D_0D0A
    static let interfaceDescription: UInt32 = 1
    static let obsoletePacket: UInt32 = 2
    static let simplePacket: UInt32 = 3
    static let nameResolution: UInt32 = 4
    static let interfaceStatistics: UInt32 = 5
    static let enhancedPacket: UInt32 = 6
    static let byteOrderMagic: UInt32 = 0x1A2B_3C4D
}

struct RawOptions: Sequence {
    let bytes: UnsafeRawBufferPointer
    let swapped: Bool

    struct Iterator: IteratorProtocol {
        let bytes: UnsafeRawBufferPointer
        let swapped: Bool
        var position = 0

        mutating func next() -> (code: UInt16, value: UnsafeRawBufferPointer)? {
            guard let base = bytes.baseAddress, bytes.count - position >= 4 else { return nil }
            let code = base.loadU16(position, swapped)
            let length = Int(base.loadU16(position + 2, swapped))
            guard code != PcapngOption.endOfOptions, bytes.count - position - 4 >= length else { return nil }
            let value = UnsafeRawBufferPointer(start: base + position + 4, count: length)
            position += 4 + ((length + 3) & ~3)
            return (code, value)
        }
    }

    func makeIterator() -> Iterator { Iterator(bytes: bytes, swapped: swapped) }
}

/// Widths of the integer fields at the start of a known option's value, which
/// must be byte-swapped when the option moves to the other byte order.
func integerFieldWidths(blockType: UInt32, code: UInt16) -> [Int] {
    switch code {
    case 2988, 2989, 19372, 19373: return [4]   // custom options: Private Enterprise Number
    default: break
    }
    switch blockType {
    case BlockType.interfaceDescription:
        switch code {
        case PcapngOption.ifSpeed, PcapngOption.ifTimestampOffset,
             PcapngOption.ifTxSpeed, PcapngOption.ifRxSpeed: return [8]
        case PcapngOption.ifTimeZone: return [4]
        default: return []
        }
    case BlockType.interfaceStatistics:
        switch code {
        case 2, 3: return [4, 4]   // isb_starttime, isb_endtime: high and low halves
        case 4, 5, 6, 7, 8: return [8]   // isb_ifrecv ... isb_usrdeliv
        default: return []
        }
    case BlockType.enhancedPacket, BlockType.obsoletePacket:
        switch code {
        case PcapngOption.epbFlags, PcapngOption.epbQueue: return [4]
        case PcapngOption.epbDropCount, PcapngOption.epbPacketID: return [8]
        default: return []
        }
    default:
        return []
    }
}

/// An option's value with its known integer fields in host byte order.
func hostOrderValue(blockType: UInt32, code: UInt16, value: UnsafeRawBufferPointer, swapped: Bool) -> [UInt8] {
    var bytes = Array(value)
    guard swapped else { return bytes }
    var at = 0
    for width in integerFieldWidths(blockType: blockType, code: code) {
        guard at + width <= bytes.count else { break }
        bytes[at..<(at + width)].reverse()
        at += width
    }
    return bytes
}

func parseOptions(_ raw: UnsafeRawBufferPointer, swapped: Bool, blockType: UInt32) -> [PcapngOption] {
    var out: [PcapngOption] = []
    for (code, value) in RawOptions(bytes: raw, swapped: swapped) {
        out.append(PcapngOption(code: code,
                                value: hostOrderValue(blockType: blockType, code: code, value: value, swapped: swapped)))
    }
    return out
}

func comments(in raw: UnsafeRawBufferPointer, swapped: Bool) -> [String] {
    var out: [String] = []
    for (code, value) in RawOptions(bytes: raw, swapped: swapped) where code == PcapngOption.comment {
        out.append(String(decoding: value, as: UTF8.self))
    }
    return out
}
