/// A protocol layer the decoder knows, as a name for where decoding ended.
public enum Layer: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case link, ethernet, vlan, llc, linuxCooked = "sll", loopback = "null", arp
    case ipv4 = "ip", ipv6 = "ip6", ipv6Extension = "ip6-ext", gre
    case tcp, udp, icmp, icmpv6 = "icmp6"

    /// tcpdump's short name (`tcp`, `ip6`, ...), as in its `[|tcp]` marks.
    public var description: String { rawValue }
}

/// Where and why decoding stopped. Damage is a value: a truncated or
/// malformed header ends the walk at that layer with one of these.
public struct DecodeEnd: Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// Every supported layer was decoded; what follows is payload.
        case complete
        /// The link type (LINKTYPE_ value) is not one the decoder knows.
        case unsupportedLinkType(UInt32)
        /// The next protocol (EtherType, IP protocol, LLC SAP, address family...) is not decoded.
        case unsupportedProtocol(UInt32)
        /// The header needs `needed` bytes from `DecodeEnd.offset`, only `available` were captured.
        case truncated(needed: Int, available: Int)
        /// The version field says something else (IPv4 header not saying 4, ...).
        case badVersion(UInt8)
        /// A header-length field is below the minimum.
        case badHeaderLength(Int)
        /// A length field is smaller than the header it covers.
        case badLength(Int)
        /// A fragment other than the first: its upper-layer header is in the first one.
        case laterFragment(offset: Int)
        /// Tunnels nested deeper than the decoder follows.
        case nestedTooDeep
    }

    /// The layer whose header ended the walk (for `.complete`, the last one decoded).
    public var layer: Layer
    public var reason: Reason
    /// Byte offset, from the start of the packet, of that layer's header.
    public var offset: Int

    public init(layer: Layer, reason: Reason, offset: Int) {
        self.layer = layer
        self.reason = reason
        self.offset = offset
    }

    /// Whether the bytes ended or lied: truncated, bad version/length.
    public var isDamage: Bool {
        switch reason {
        case .truncated, .badVersion, .badHeaderLength, .badLength: return true
        default: return false
        }
    }

    public var description: String {
        switch reason {
        case .complete: return "complete after \(layer)"
        case let .unsupportedLinkType(t): return "link type \(t) not decoded"
        case let .unsupportedProtocol(p): return "\(layer): next protocol \(p) not decoded"
        case let .truncated(needed, available): return "\(layer) at \(offset): truncated (\(available) of \(needed) bytes)"
        case let .badVersion(v): return "\(layer) at \(offset): version \(v)"
        case let .badHeaderLength(l): return "\(layer) at \(offset): header length \(l) too small"
        case let .badLength(l): return "\(layer) at \(offset): length \(l) smaller than the header"
        case let .laterFragment(o): return "\(layer) at \(offset): fragment at offset \(o), not the first"
        case .nestedTooDeep: return "\(layer) at \(offset): tunnels nested too deep"
        }
    }

    /// A short machine-friendly name of the reason (`complete`, `truncated`, ...).
    public var reasonName: String {
        switch reason {
        case .complete: return "complete"
        case .unsupportedLinkType: return "unsupported-link-type"
        case .unsupportedProtocol: return "unsupported-protocol"
        case .truncated: return "truncated"
        case .badVersion: return "bad-version"
        case .badHeaderLength: return "bad-header-length"
        case .badLength: return "bad-length"
        case .laterFragment: return "later-fragment"
        case .nestedTooDeep: return "nested-too-deep"
        }
    }
}
