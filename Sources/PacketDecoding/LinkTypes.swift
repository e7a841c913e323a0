/// LINKTYPE_ numbers (tcpdump.org/linktypes.html) the decoder reads.
public enum LinkTypeNumber {
    public static let null: UInt32 = 0
    public static let ethernet: UInt32 = 1
    /// DLT_RAW as Linux and most systems report it live.
    public static let rawDLT12: UInt32 = 12
    /// DLT_RAW on OpenBSD.
    public static let rawDLT14: UInt32 = 14
    public static let raw: UInt32 = 101
    public static let loop: UInt32 = 108
    public static let linuxSLL: UInt32 = 113
    public static let ipv4: UInt32 = 228
    public static let ipv6: UInt32 = 229
    public static let linuxSLL2: UInt32 = 276
}

/// EtherType values the decoder follows or names.
public enum EtherType {
    public static let ipv4: UInt16 = 0x0800
    public static let arp: UInt16 = 0x0806
    public static let reverseARP: UInt16 = 0x8035
    public static let vlan: UInt16 = 0x8100
    public static let ipv6: UInt16 = 0x86DD
    public static let qinq: UInt16 = 0x88A8
    /// The pre-standard 802.1ad TPID some switches still use.
    public static let qinqLegacy: UInt16 = 0x9100
    public static let transparentEthernetBridging: UInt16 = 0x6558

    public static func name(_ type: UInt16) -> String? {
        switch type {
        case ipv4: return "IPv4"
        case arp: return "ARP"
        case reverseARP: return "Reverse ARP"
        case vlan: return "802.1Q"
        case ipv6: return "IPv6"
        case qinq: return "802.1Q-QinQ"
        case qinqLegacy: return "802.1Q-9100"
        case 0x88CC: return "LLDP"
        case 0x8863: return "PPPoE D"
        case 0x8864: return "PPPoE S"
        case 0x8847: return "MPLS unicast"
        case 0x888E: return "EAPOL"
        default: return nil
        }
    }
}

/// IP protocol numbers the decoder follows or names (IANA "Assigned Internet Protocol Numbers").
public enum IPProtocol {
    public static let hopByHop: UInt8 = 0
    public static let icmp: UInt8 = 1
    public static let igmp: UInt8 = 2
    public static let ipInIP: UInt8 = 4
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let ipv6: UInt8 = 41
    public static let routing: UInt8 = 43
    public static let fragment: UInt8 = 44
    public static let gre: UInt8 = 47
    public static let esp: UInt8 = 50
    public static let authenticationHeader: UInt8 = 51
    public static let icmpv6: UInt8 = 58
    public static let noNextHeader: UInt8 = 59
    public static let destinationOptions: UInt8 = 60
    public static let sctp: UInt8 = 132

    /// The lower-case keyword tcpdump prints (`tcp`, `ip-proto-N` when unnamed).
    public static func name(_ p: UInt8) -> String {
        switch p {
        case hopByHop: return "HBH"  // what tcpdump prints for next header 0
        case icmp: return "ICMP"
        case igmp: return "IGMP"
        case ipInIP: return "IPIP"
        case tcp: return "TCP"
        case udp: return "UDP"
        case ipv6: return "IPv6"
        case routing: return "Routing"
        case fragment: return "frag"
        case gre: return "GRE"
        case esp: return "ESP"
        case authenticationHeader: return "AH"
        case icmpv6: return "ICMPv6"
        case noNextHeader: return "NONE"
        case destinationOptions: return "DSTOPT"
        case 103: return "PIM"
        case 112: return "VRRP"
        case 108: return "IPComp"
        case sctp: return "SCTP"
        default: return "ip-proto-\(p)"
        }
    }
}
