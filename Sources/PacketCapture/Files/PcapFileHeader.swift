/// The 24-byte header of a classic pcap file.
public struct PcapFileHeader: Hashable, Sendable {
    /// µs (magic 0xa1b2c3d4) or ns (magic 0xa1b23c4d).
    public var timestampPrecision: PcapTimestampPrecision
    /// Whether the file was written in the byte order opposite to this host's.
    public var isByteSwapped: Bool
    public var versionMajor: UInt16
    public var versionMinor: UInt16
    /// Historically the GMT offset; always 0 in practice.
    public var thisZone: Int32
    /// Historically the timestamp accuracy; always 0 in practice.
    public var sigFigs: UInt32
    /// The snapshot length: the longest a record's captured length should be.
    public var snapshotLength: UInt32
    /// The whole "LinkType and additional information" field.
    public var linkTypeField: UInt32

    public init(timestampPrecision: PcapTimestampPrecision, isByteSwapped: Bool = false,
                versionMajor: UInt16 = 2, versionMinor: UInt16 = 4, thisZone: Int32 = 0, sigFigs: UInt32 = 0,
                snapshotLength: UInt32, linkTypeField: UInt32) {
        self.timestampPrecision = timestampPrecision
        self.isByteSwapped = isByteSwapped
        self.versionMajor = versionMajor
        self.versionMinor = versionMinor
        self.thisZone = thisZone
        self.sigFigs = sigFigs
        self.snapshotLength = snapshotLength
        self.linkTypeField = linkTypeField
    }

    /// The link-layer header type: the low 16 bits of the field.
    public var linkType: LinkType { LinkType(rawValue: linkTypeField & 0xFFFF) }

    /// The "f" bit (bit 28): set when `fcsLength` is meaningful.
    public var hasFCSLength: Bool { linkTypeField & 0x1000_0000 != 0 }

    /// Bytes of frame check sequence at the end of each packet (bits 29-31 count
    /// 16-bit words), or nil when the "f" bit is clear.
    ///
    /// The layout is draft-ietf-opsawg-pcap's. (libpcap's own macros put the
    /// flag at bit 26 and a 4-bit length at bits 28-31; no writer in common use
    /// sets either.)
    public var fcsLength: Int? {
        hasFCSLength ? Int(linkTypeField >> 29) * 2 : nil
    }

    /// The reserved bits 16-27 of the link-type field.
    public var reservedLinkTypeBits: UInt32 { linkTypeField & 0x0FFF_0000 }

    static let byteCount = 24
}
