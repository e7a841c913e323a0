/// A packet inside a capture file, valid only while its bytes are where it points.
///
/// `bytes` points into the memory-mapped file (or into the stream buffer): nothing
/// is copied until `makePacket()`. The invariant every unsafe access here relies
/// on: a view is used only while its `CaptureFile` lives and, for a stream, before
/// the walk reads on (the end of the callback that handed it out, or the
/// iterator's next call). Copy with `makePacket()` to keep a packet. Debug builds
/// check the invariant on every access to `bytes`, `comments`, `pcapngOptions`
/// and `makePacket()`, and stop with a message naming the misuse.
public struct PacketView {
    /// The captured bytes; see the type's validity rule.
    public var bytes: UnsafeRawBufferPointer {
        assertValid()
        return unsafeBytes
    }
    let unsafeBytes: UnsafeRawBufferPointer
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
    /// Not retained: the walk that hands out the view holds the file.
    unowned(unsafe) let unownedFile: CaptureFile
    var file: CaptureFile {
        assertValid()
        return unownedFile
    }
    #if DEBUG
    let validity: ViewValidity
    #endif

    init(bytes: UnsafeRawBufferPointer, wireLength: Int, linkType: LinkType, interfaceIndex: Int,
         sectionIndex: Int, fileOffset: Int, time: RawTime, block: UnsafeRawBufferPointer,
         options: UnsafeRawBufferPointer, swapped: Bool, blockType: UInt32, file: CaptureFile) {
        self.unsafeBytes = bytes
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
        self.unownedFile = file
        #if DEBUG
        validity = ViewValidity(file)
        #endif
    }

    /// Stops a debug build when the view outlived its bytes (see the type's rule).
    @inline(__always)
    func assertValid() {
        #if DEBUG
        validity.check("PacketView")
        #endif
    }

    /// Number of bytes captured.
    public var captureLength: Int { unsafeBytes.count }

    /// Whether the record claims fewer bytes on the wire than it captured, which
    /// only a broken writer produces. `CaptureFile.wireLengthBelowCaptureLengthCount`
    /// counts such packets.
    public var hasWireLengthBelowCaptureLength: Bool { wireLength < unsafeBytes.count }

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
        assertValid()
        return options.isEmpty ? [] : PacketCapture.comments(in: options, swapped: swapped)
    }

    /// Every option of the packet's block (`epb_flags`, `epb_hash`, comments, ...).
    public var pcapngOptions: [PcapngOption] {
        assertValid()
        return options.isEmpty ? [] : parseOptions(options, swapped: swapped, blockType: blockType)
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

#if DEBUG
/// What a debug build checks before a view touches its bytes: its file still
/// lives (a weak reference) and, for a stream, the buffer has not moved since the
/// view was made (`StreamBuffer.generation`).
struct ViewValidity {
    weak var file: CaptureFile?
    let generation: Int

    init(_ file: CaptureFile) {
        self.file = file
        generation = file.stream?.generation ?? 0
    }

    /// Why the view is no longer valid; nil while it is.
    var failure: String? {
        guard let file else {
            return "used after its CaptureFile was released: copy the packet with makePacket() to keep it"
        }
        if let stream = file.stream, stream.generation != generation {
            return "from a stream used after the walk read on (after its callback returned, or after the "
                + "iterator's next call): copy the packet with makePacket() to keep it"
        }
        return nil
    }

    func check(_ type: StaticString) {
        if let failure { preconditionFailure("\(type) \(failure)") }
    }
}
#endif
