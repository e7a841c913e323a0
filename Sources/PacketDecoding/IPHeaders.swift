/// An IPv4 header; `bytes` run to the end of its packet (total length, clipped to the capture).
public struct IPv4Header: ~Escapable {
    public let bytes: RawSpan
    /// Where it is in the packet and what the decoder found.
    public let layer: NetworkLayer

    @_lifetime(copy bytes)
    init(_ bytes: RawSpan, layer: NetworkLayer) {
        self.bytes = bytes
        self.layer = layer
    }

    public var version: UInt8 { bytes.u8(0) >> 4 }
    /// IHL × 4: 20 plus options.
    public var headerLength: Int { Int(bytes.u8(0) & 0x0F) * 4 }
    /// DSCP and ECN.
    public var typeOfService: UInt8 { bytes.u8(1) }
    public var totalLength: UInt16 { bytes.u16(2) }
    public var identification: UInt16 { bytes.u16(4) }
    /// The three flag bits: 0x4 reserved, 0x2 don't fragment, 0x1 more fragments.
    public var flags: UInt8 { bytes.u8(6) >> 5 }
    public var dontFragment: Bool { flags & 0x2 != 0 }
    public var moreFragments: Bool { flags & 0x1 != 0 }
    /// The fragment offset field, in 8-byte units.
    public var fragmentOffset: UInt16 { bytes.u16(6) & 0x1FFF }
    public var timeToLive: UInt8 { bytes.u8(8) }
    public var protocolNumber: UInt8 { bytes.u8(9) }
    public var headerChecksum: UInt16 { bytes.u16(10) }
    public var source: IPv4Address { bytes.ipv4(12) }
    public var destination: IPv4Address { bytes.ipv4(16) }

    /// The option bytes (empty without options).
    public var options: RawSpan {
        @_lifetime(copy self) get { bytes.extracting(20..<headerLength) }
    }

    /// Whether the header checksum is right (the one's-complement sum over the header is 0xFFFF).
    public var headerChecksumIsValid: Bool {
        InternetChecksum.sum(bytes.extracting(0..<headerLength)).folded == 0xFFFF
    }
}

/// An IPv6 header; `bytes` run to the end of its packet (payload length, clipped to the capture).
public struct IPv6Header: ~Escapable {
    public let bytes: RawSpan
    public let layer: NetworkLayer

    @_lifetime(copy bytes)
    init(_ bytes: RawSpan, layer: NetworkLayer) {
        self.bytes = bytes
        self.layer = layer
    }

    public var version: UInt8 { bytes.u8(0) >> 4 }
    public var trafficClass: UInt8 { UInt8(truncatingIfNeeded: bytes.u16(0) >> 4) }
    public var flowLabel: UInt32 { bytes.u32(0) & 0x000F_FFFF }
    public var payloadLength: UInt16 { bytes.u16(4) }
    /// The Next Header field of the fixed header (the first extension header, if any).
    public var nextHeader: UInt8 { bytes.u8(6) }
    public var hopLimit: UInt8 { bytes.u8(7) }
    public var source: IPv6Address { bytes.ipv6(8) }
    public var destination: IPv6Address { bytes.ipv6(24) }
    /// The protocol after the extension-header chain.
    public var upperProtocol: UInt8? { layer.upperProtocol }

    /// Calls `body` with each extension header walked: its type (0, 43, 44, 51, 60),
    /// offset from the IPv6 header and length in bytes.
    public func forEachExtensionHeader(_ body: (_ type: UInt8, _ offset: Int, _ length: Int) -> Void) {
        var type = nextHeader
        var offset = 40
        while offset < layer.headerLength {
            let length: Int
            switch type {
            case IPProtocol.fragment: length = 8
            case IPProtocol.authenticationHeader: length = (Int(bytes.u8(offset + 1)) + 2) * 4
            default: length = (Int(bytes.u8(offset + 1)) + 1) * 8
            }
            body(type, offset, length)
            type = bytes.u8(offset)
            offset += length
        }
    }

    /// The fragment header's identification, when there is one.
    public var fragmentIdentification: UInt32? {
        layer.ipv6FragmentHeaderOffset.map { bytes.u32($0 - layer.offset + 4) }
    }
}
