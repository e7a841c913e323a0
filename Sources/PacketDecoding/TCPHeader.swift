/// A TCP header; `bytes` run to the end of the segment (IP length, clipped to the capture).
public struct TCPHeader: ~Escapable {
    public let bytes: RawSpan
    /// Header bytes captured: data offset × 4, or less when the capture ends inside the options.
    public let headerLength: Int

    @_lifetime(copy bytes)
    init(_ bytes: RawSpan, headerLength: Int) {
        self.bytes = bytes
        self.headerLength = headerLength
    }

    public var sourcePort: UInt16 { bytes.u16(0) }
    public var destinationPort: UInt16 { bytes.u16(2) }
    /// The data offset field × 4: the header length the sender declared.
    public var dataOffset: Int { Int(bytes.u8(12) >> 4) * 4 }
    /// Whether the capture ends inside the options.
    public var isTruncated: Bool { headerLength < dataOffset }
    public var sequenceNumber: UInt32 { bytes.u32(4) }
    public var acknowledgmentNumber: UInt32 { bytes.u32(8) }
    /// The 12 flag bits (including the 3 reserved and AE/NS): FIN 0x001 ... CWR 0x080, AE 0x100.
    public var flags: TCPFlags { TCPFlags(rawValue: bytes.u16(12) & 0x0FFF) }
    public var window: UInt16 { bytes.u16(14) }
    public var checksum: UInt16 { bytes.u16(16) }
    public var urgentPointer: UInt16 { bytes.u16(18) }
    /// Payload bytes captured after the header.
    public var payloadLength: Int { bytes.byteCount - headerLength }

    /// Calls `body` with each option in order. Stops after End of Option List, or
    /// at an option whose length is wrong or runs past the header (`.malformed`).
    public func forEachOption(_ body: (TCPOption) -> Void) {
        var offset = 20
        while offset < headerLength {
            let kind = bytes.u8(offset)
            if kind == 0 { body(.endOfOptionList); return }
            if kind == 1 { body(.noOperation); offset += 1; continue }
            guard offset + 1 < headerLength else { body(.malformed(kind: kind)); return }
            let length = Int(bytes.u8(offset + 1))
            guard length >= 2, offset + length <= headerLength else { body(.malformed(kind: kind)); return }
            let value = offset + 2
            switch (kind, length) {
            case (2, 4): body(.maximumSegmentSize(bytes.u16(value)))
            case (3, 3): body(.windowScale(bytes.u8(value)))
            case (4, 2): body(.sackPermitted)
            case (5, _) where (length - 2) % 8 == 0:
                var blocks = TCPSACKBlocks()
                var b = value
                while b < offset + length {
                    blocks.append(left: bytes.u32(b), right: bytes.u32(b + 4))
                    b += 8
                }
                body(.selectiveAcknowledgment(blocks))
            case (8, 10): body(.timestamps(value: bytes.u32(value), echoReply: bytes.u32(value + 4)))
            case (2, _), (3, _), (4, _), (5, _), (8, _): body(.malformed(kind: kind))
            default: body(.other(kind: kind, offset: offset, length: length))
            }
            offset += length
        }
    }
}

public struct TCPFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x001)
    public static let syn = TCPFlags(rawValue: 0x002)
    public static let rst = TCPFlags(rawValue: 0x004)
    public static let psh = TCPFlags(rawValue: 0x008)
    public static let ack = TCPFlags(rawValue: 0x010)
    public static let urg = TCPFlags(rawValue: 0x020)
    public static let ece = TCPFlags(rawValue: 0x040)
    public static let cwr = TCPFlags(rawValue: 0x080)
    /// Accurate ECN (formerly NS).
    public static let ae = TCPFlags(rawValue: 0x100)
}

/// One TCP option, as `TCPHeader.forEachOption` reads it.
public enum TCPOption: Sendable, Hashable {
    case endOfOptionList
    case noOperation
    case maximumSegmentSize(UInt16)
    case windowScale(UInt8)
    case sackPermitted
    case selectiveAcknowledgment(TCPSACKBlocks)
    case timestamps(value: UInt32, echoReply: UInt32)
    /// An option not decoded: its kind, offset in the TCP header and length (kind and length bytes included).
    case other(kind: UInt8, offset: Int, length: Int)
    /// A length that is too small, wrong for the kind, or runs past the header; the walk stops.
    case malformed(kind: UInt8)
}

/// Up to four SACK blocks (a 40-byte option area holds at most four), stored inline.
public struct TCPSACKBlocks: Sendable, Hashable {
    private var storage: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0, 0, 0)
    public private(set) var count = 0

    public init() {}

    mutating func append(left: UInt32, right: UInt32) {
        guard count < 4 else { return }
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.storeBytes(of: left, toByteOffset: count * 8, as: UInt32.self)
            raw.storeBytes(of: right, toByteOffset: count * 8 + 4, as: UInt32.self)
        }
        count += 1
    }

    /// Block `i`: its left and right edges (sequence numbers).
    public subscript(i: Int) -> (left: UInt32, right: UInt32) {
        precondition(i >= 0 && i < count, "SACK block index out of range")
        return withUnsafeBytes(of: storage) { raw in
            (raw.load(fromByteOffset: i * 8, as: UInt32.self), raw.load(fromByteOffset: i * 8 + 4, as: UInt32.self))
        }
    }

    public static func == (a: TCPSACKBlocks, b: TCPSACKBlocks) -> Bool {
        a.count == b.count && (0..<a.count).allSatisfy { a[$0] == b[$0] }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for i in 0..<count { hasher.combine(self[i].left); hasher.combine(self[i].right) }
    }
}

/// A UDP header; `bytes` run to the end of the datagram (IP length, clipped to the capture).
public struct UDPHeader: ~Escapable {
    public let bytes: RawSpan

    @_lifetime(copy bytes)
    init(_ bytes: RawSpan) { self.bytes = bytes }

    public var sourcePort: UInt16 { bytes.u16(0) }
    public var destinationPort: UInt16 { bytes.u16(2) }
    /// The length field: header and payload.
    public var length: UInt16 { bytes.u16(4) }
    public var checksum: UInt16 { bytes.u16(6) }
}
