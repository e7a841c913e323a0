/// The layout of a `packet` frame, written down once. The helper writes frames
/// with `writeHeader`, the client's fast path reads them with `parse`, and the
/// generic decoder (`PacketHeader.decode`) applies the same `isValid` rule, so
/// the three cannot disagree on an offset or a check.
///
///     offset  0: u32 length (1 + 20 + captureLength)   4: u8 type (0x21)
///             5: i64 seconds   13: u32 nanoseconds   17: u32 captureLength
///            21: u32 wireLength   25: captureLength packet bytes
package enum PacketFrame {
    /// Bytes before the packet's own bytes: length, type and the fixed fields.
    package static let headerSize = Wire.frameHeaderLength + Wire.packetHeaderLength

    /// Bytes a packet frame of `captureLength` packet bytes occupies.
    @inlinable
    package static func size(captureLength: Int) -> Int { headerSize + captureLength }

    /// Whether a packet frame's fields are consistent: nanoseconds below 1e9,
    /// the captured length equal to the bytes the frame carries and not above
    /// the wire length.
    @inlinable @inline(__always)
    package static func isValid(nanoseconds: UInt32, captureLength: UInt32, wireLength: UInt32, carried: Int) -> Bool {
        nanoseconds < 1_000_000_000 && Int(captureLength) == carried && captureLength <= wireLength
    }

    /// The complete, valid packet frame that starts at `p`, within `available`
    /// bytes: its header and its size on the wire. nil when there is none there
    /// (another frame type, an incomplete frame, a length over the bound, or
    /// inconsistent fields): the generic decoder then says what it is.
    @inlinable @inline(__always)
    package static func parse(_ p: UnsafeRawPointer, available: Int) -> (header: PacketHeader, size: Int)? {
        guard available >= headerSize else { return nil }
        let length = Int(UInt32(bigEndian: p.loadUnaligned(as: UInt32.self)))
        guard p.load(fromByteOffset: 4, as: UInt8.self) == FrameType.packet.rawValue,
              length >= 1 + Wire.packetHeaderLength, length <= Wire.maxFrameLength, available >= 4 + length else { return nil }
        let header = PacketHeader(seconds: Int64(bitPattern: UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 5, as: UInt64.self))),
                                  nanoseconds: UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 13, as: UInt32.self)),
                                  captureLength: UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 17, as: UInt32.self)),
                                  wireLength: UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 21, as: UInt32.self)))
        guard isValid(nanoseconds: header.nanoseconds, captureLength: header.captureLength, wireLength: header.wireLength,
                      carried: length - 1 - Wire.packetHeaderLength) else { return nil }
        return (header, 4 + length)
    }

    /// Writes a packet frame's header for `header` at `p`; the caller copies
    /// `header.captureLength` packet bytes right after it (at `headerSize`).
    @inlinable @inline(__always)
    package static func writeHeader(_ header: PacketHeader, to p: UnsafeMutableRawPointer) {
        p.storeBytes(of: (UInt32(1 + Wire.packetHeaderLength) + header.captureLength).bigEndian, as: UInt32.self)
        p.storeBytes(of: FrameType.packet.rawValue, toByteOffset: 4, as: UInt8.self)
        p.storeBytes(of: UInt64(bitPattern: header.seconds).bigEndian, toByteOffset: 5, as: UInt64.self)
        p.storeBytes(of: header.nanoseconds.bigEndian, toByteOffset: 13, as: UInt32.self)
        p.storeBytes(of: header.captureLength.bigEndian, toByteOffset: 17, as: UInt32.self)
        p.storeBytes(of: header.wireLength.bigEndian, toByteOffset: 21, as: UInt32.self)
    }
}
