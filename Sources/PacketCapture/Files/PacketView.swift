/// A packet inside a capture file, valid only during the call that hands it out.
///
/// `bytes` points into the memory-mapped file (or into the stream buffer): nothing
/// is copied until `makePacket()`. Do not keep the view or its pointer after the
/// callback returns.
public struct PacketView {
    /// The captured bytes; valid during the callback only.
    public let bytes: UnsafeRawBufferPointer
    /// Length of the packet on the wire, as the file stores it. A broken writer
    /// can store less than `captureLength`; it is reported as stored (as tshark
    /// and libpcap do), and `hasWireLengthBelowCaptureLength` flags it.
    public let wireLength: Int
    public let linkType: LinkType
    /// Interface id within its pcapng section; 0 for pcap.
    public let interfaceIndex: Int
    /// Which pcapng section (0, 1, ...) the packet is in; 0 for pcap.
    public let sectionIndex: Int
    /// Byte offset of the packet's record or block in the file.
    public let fileOffset: Int

    let time: RawTime
    /// The whole pcapng block (empty for pcap).
    let block: UnsafeRawBufferPointer
    /// The block's options area (empty for pcap and SPB).
    let options: UnsafeRawBufferPointer
    /// Whether the block is in the byte order opposite to the host's.
    let swapped: Bool
    /// pcapng block type; 0 for pcap records.
    let blockType: UInt32
    unowned(unsafe) let file: CaptureFile

    init(bytes: UnsafeRawBufferPointer, wireLength: Int, linkType: LinkType, interfaceIndex: Int,
         sectionIndex: Int, fileOffset: Int, time: RawTime, block: UnsafeRawBufferPointer,
         options: UnsafeRawBufferPointer, swapped: Bool, blockType: UInt32, file: CaptureFile) {
        self.bytes = bytes
        self.wireLength = wireLength
        self.linkType = linkType
        self.interfaceIndex = interfaceIndex
        self.sectionIndex = sectionIndex
        self.fileOffset = fileOffset
        self.time = time
        self.block = block
        self.options = options
        self.swapped = swapped
        self.blockType = blockType
        self.file = file
    }

    /// Number of bytes captured.
    @inlinable public var captureLength: Int { bytes.count }

    /// Whether the record claims fewer bytes on the wire than it captured, which
    /// only a broken writer produces. `CaptureFile.wireLengthBelowCaptureLengthCount`
    /// counts such packets.
    public var hasWireLengthBelowCaptureLength: Bool { wireLength < bytes.count }

    /// When the packet was captured, in nanoseconds (finer resolutions
    /// truncated); nil for pcapng Simple Packet Blocks.
    ///
    /// A classic pcap record whose microsecond (or nanosecond) field holds a
    /// second or more, which only a broken writer produces, has the excess
    /// carried into the seconds: 1000 s and 1 500 000 µs read as 1001.5 s. The
    /// reference tools differ here (libpcap hands out the field unchanged,
    /// tshark prints it as an over-long fraction, "1000.1500000000"), so
    /// swiftcap keeps a value that is a valid `Timestamp`.
    public var timestamp: Timestamp? { time.timestamp }

    /// The packet's `opt_comment` values.
    public var comments: [String] {
        options.isEmpty ? [] : PacketCapture.comments(in: options, swapped: swapped)
    }

    /// Every option of the packet's block (`epb_flags`, `epb_hash`, comments, ...).
    public var pcapngOptions: [PcapngOption] {
        options.isEmpty ? [] : parseOptions(options, swapped: swapped, blockType: blockType)
    }

    /// Copies the packet out of the file.
    public func makePacket() -> Packet {
        Packet(timestamp: timestamp, wireLength: wireLength, bytes: ArraySlice(Array(bytes)),
               linkType: linkType, interfaceIndex: interfaceIndex, comments: comments)
    }
}

/// A timestamp as the file stores it, converted only when asked for.
enum RawTime {
    case none
    case pcap(seconds: UInt32, fraction: UInt32, precision: PcapTimestampPrecision)
    case units(UInt64, resolution: TimestampResolution, offset: Int64)

    var timestamp: Timestamp? {
        switch self {
        case .none:
            return nil
        case let .pcap(seconds, fraction, precision):
            // A fraction of a second or more (malformed file) carries into the seconds.
            let ns = UInt64(fraction) * UInt64(precision.nanosecondsPerUnit)
            return Timestamp(seconds: Int64(seconds) + Int64(ns / 1_000_000_000),
                             nanoseconds: UInt32(ns % 1_000_000_000))
        case let .units(units, resolution, offset):
            let (s, ns) = resolution.split(units)
            return Timestamp(seconds: Int64(truncatingIfNeeded: s) &+ offset, nanoseconds: ns)
        }
    }
}
