/// A point in time as seconds and nanoseconds since the Unix epoch.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var seconds: Int64
    /// Always below 1_000_000_000.
    public var nanoseconds: UInt32

    public init(seconds: Int64, nanoseconds: UInt32) {
        precondition(nanoseconds < 1_000_000_000, "nanoseconds must be below 1e9")
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// Nanoseconds since the epoch (saturates far outside any capture's range).
    public var totalNanoseconds: Int64 {
        seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue &+ Int64(nanoseconds)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    /// "SECONDS.NNNNNNNNN": seconds, a dot, exactly nine digits.
    public var description: String {
        var frac = String(nanoseconds)
        frac = String(repeating: "0", count: 9 - frac.count) + frac
        return "\(seconds).\(frac)"
    }
}

/// A link-layer header type, as a LINKTYPE_ number: the value capture files
/// store (tcpdump.org/linktypes.html), for packets from files and from live
/// captures alike. libpcap's DLT_ values, which differ for a few types (raw IP
/// is DLT_RAW 12 on Linux but LINKTYPE_RAW 101), are converted where the
/// helper reports them and never appear here.
///
/// `name`, `longName` and `tcpdumpName` give libpcap's names ("EN10MB",
/// "Ethernet", "EN10MB (Ethernet)").
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// LINKTYPE_NULL: BSD loopback, a 4-byte address family in host byte order.
    public static let null = LinkType(rawValue: 0)
    /// LINKTYPE_ETHERNET (libpcap's EN10MB).
    public static let ethernet = LinkType(rawValue: 1)
    /// LINKTYPE_RAW: raw IPv4 or IPv6, what a Linux tun device captures
    /// (reported live as DLT_RAW 12).
    public static let raw = LinkType(rawValue: 101)
    public static let ieee802_11 = LinkType(rawValue: 105)
    public static let loop = LinkType(rawValue: 108)
    public static let linuxSLL = LinkType(rawValue: 113)
    public static let ieee802_11Radiotap = LinkType(rawValue: 127)
    public static let ipv4 = LinkType(rawValue: 228)
    public static let ipv6 = LinkType(rawValue: 229)
    public static let linuxSLL2 = LinkType(rawValue: 276)

    /// The number, as tcpdump -e prints an unnamed link type.
    public var description: String { String(rawValue) }

    /// The link type of a DLT_ value from Linux libpcap (what the helper
    /// reports for a live capture and an interface's choices), mapped as
    /// libpcap's dlt_to_linktype maps it when it writes a savefile: the five
    /// DLT_ values below LINKTYPE_MATCHING_MIN that differ from their
    /// LINKTYPE_ value on Linux; every other value is the same in both.
    init(linuxDLT dlt: UInt32) {
        switch dlt {
        case 11: self.init(rawValue: 100)   // DLT_ATM_RFC1483
        case 12: self.init(rawValue: 101)   // DLT_RAW
        case 15: self.init(rawValue: 102)   // DLT_SLIP_BSDOS
        case 16: self.init(rawValue: 103)   // DLT_PPP_BSDOS
        case 19: self.init(rawValue: 106)   // DLT_ATM_CLIP
        default: self.init(rawValue: dlt)
        }
    }
}

/// One captured packet, live or from a file.
///
/// `bytes` is a slice of a larger buffer shared with neighbouring packets of the
/// same batch, so keeping a packet keeps its batch alive; copy `Array(bytes)` to
/// keep only the packet.
public struct Packet: Sendable {
    /// When the packet was captured; `nil` when the source records none
    /// (pcapng Simple Packet Blocks).
    public var timestamp: Timestamp?
    /// Length of the packet on the wire, as the helper or the file reports it: at
    /// least `bytes.count` for live packets; a file may store less (see
    /// `PacketView.hasWireLengthBelowCaptureLength`).
    public var wireLength: Int
    /// The captured bytes (at most the snapshot length).
    public var bytes: ArraySlice<UInt8>
    /// Link-layer header type of `bytes`.
    public var linkType: LinkType
    /// Interface index within its pcapng section; 0 for pcap files and live captures.
    public var interfaceIndex: Int
    /// pcapng `opt_comment` values of this packet.
    public var comments: [String]

    public init(timestamp: Timestamp?, wireLength: Int, bytes: ArraySlice<UInt8>, linkType: LinkType,
                interfaceIndex: Int = 0, comments: [String] = []) {
        self.timestamp = timestamp
        self.wireLength = wireLength
        self.bytes = bytes
        self.linkType = linkType
        self.interfaceIndex = interfaceIndex
        self.comments = comments
    }

    /// Number of bytes captured.
    public var captureLength: Int { bytes.count }
}
