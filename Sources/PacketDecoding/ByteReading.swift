// Big-endian field reads on a RawSpan. Every read is bounds-checked by RawSpan
// itself; the decoder checks lengths before reading, so a failed check is a
// decoder bug that traps rather than an out-of-bounds read.
extension RawSpan {
    @inline(__always)
    func u8(_ offset: Int) -> UInt8 {
        unsafeLoad(fromByteOffset: offset, as: UInt8.self)
    }

    @inline(__always)
    func u16(_ offset: Int) -> UInt16 {
        UInt16(bigEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    func u32(_ offset: Int) -> UInt32 {
        UInt32(bigEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    func u16LittleEndian(_ offset: Int) -> UInt16 {
        UInt16(littleEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    func u32LittleEndian(_ offset: Int) -> UInt32 {
        UInt32(littleEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// Six bytes at `offset` as a MAC address.
    @inline(__always)
    func mac(_ offset: Int) -> MACAddress {
        MACAddress(rawValue: UInt64(u16(offset)) << 32 | UInt64(u32(offset + 2)))
    }

    @inline(__always)
    func ipv4(_ offset: Int) -> IPv4Address {
        IPv4Address(rawValue: u32(offset))
    }

    @inline(__always)
    func ipv6(_ offset: Int) -> IPv6Address {
        IPv6Address(high: UInt64(u32(offset)) << 32 | UInt64(u32(offset + 4)),
                    low: UInt64(u32(offset + 8)) << 32 | UInt64(u32(offset + 12)))
    }
}
