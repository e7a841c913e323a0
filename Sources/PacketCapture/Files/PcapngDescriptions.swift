/// One pcapng option: a code and its value bytes.
///
/// Values are kept as in the file, except that the fields this library knows
/// to be integers (`if_speed`, `if_tsoffset`, `epb_flags`, `epb_dropcount`, the
/// Private Enterprise Number of custom options, ...) are in host byte order, so
/// an option copied to a file written on this host means the same thing.
public struct PcapngOption: Hashable, Sendable {
    public var code: UInt16
    public var value: [UInt8]

    public init(code: UInt16, value: [UInt8]) {
        self.code = code
        self.value = value
    }

    /// A UTF-8 string option (`opt_comment`, `if_name`, `shb_os`, ...).
    public init(code: UInt16, string: String) {
        self.init(code: code, value: Array(string.utf8))
    }

    /// The value as a UTF-8 string (invalid sequences repaired).
    public var stringValue: String { String(decoding: value, as: UTF8.self) }

    // Codes common to all blocks.
    public static let endOfOptions: UInt16 = 0
    public static let comment: UInt16 = 1
    // Section Header Block.
    public static let shbHardware: UInt16 = 2
    public static let shbOS: UInt16 = 3
    public static let shbUserApplication: UInt16 = 4
    // Interface Description Block.
    public static let ifName: UInt16 = 2
    public static let ifDescription: UInt16 = 3
    public static let ifSpeed: UInt16 = 8
    public static let ifTimestampResolution: UInt16 = 9
    public static let ifTimeZone: UInt16 = 10
    public static let ifFilter: UInt16 = 11
    public static let ifOS: UInt16 = 12
    public static let ifFCSLength: UInt16 = 13
    public static let ifTimestampOffset: UInt16 = 14
    public static let ifHardware: UInt16 = 15
    public static let ifTxSpeed: UInt16 = 16
    public static let ifRxSpeed: UInt16 = 17
    // Enhanced Packet Block.
    public static let epbFlags: UInt16 = 2
    public static let epbHash: UInt16 = 3
    public static let epbDropCount: UInt16 = 4
    public static let epbPacketID: UInt16 = 5
    public static let epbQueue: UInt16 = 6
    public static let epbVerdict: UInt16 = 7
}

/// An Interface Description Block.
public struct PcapngInterface: Hashable, Sendable {
    public var linkType: LinkType
    /// 0 means "no limit".
    public var snapshotLength: UInt32
    /// `if_tsresol`, 10^-6 s when absent.
    public var timestampResolution: TimestampResolution
    /// `if_tsoffset`: seconds added to every timestamp of the interface.
    public var timestampOffset: Int64
    /// `if_name`.
    public var name: String?
    /// `if_description`.
    public var interfaceDescription: String?
    /// Every option of the block in file order, including the ones above.
    public var options: [PcapngOption]
    /// Byte offset of the block in the file.
    public var offset: Int

    public var comments: [String] { options.filter { $0.code == PcapngOption.comment }.map(\.stringValue) }
}

/// A Section Header Block and the interfaces defined in its section.
public struct PcapngSection: Hashable, Sendable {
    /// Byte offset of the Section Header Block in the file.
    public var offset: Int
    /// Whether the section was written in the byte order opposite to this host's.
    public var isByteSwapped: Bool
    public var versionMajor: UInt16
    public var versionMinor: UInt16
    /// The declared section length; -1 when the writer did not know it.
    public var sectionLength: Int64
    /// Every option of the block in file order.
    public var options: [PcapngOption]
    /// The interfaces of this section, in interface-id order (as read so far,
    /// for a stream).
    public var interfaces: [PcapngInterface]

    public var hardware: String? { firstString(PcapngOption.shbHardware) }
    public var os: String? { firstString(PcapngOption.shbOS) }
    public var userApplication: String? { firstString(PcapngOption.shbUserApplication) }
    public var comments: [String] { options.filter { $0.code == PcapngOption.comment }.map(\.stringValue) }

    func firstString(_ code: UInt16) -> String? {
        options.first { $0.code == code }?.stringValue
    }
}
