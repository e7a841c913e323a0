/// The Internet checksum (RFC 1071): a one's-complement sum of 16-bit words.
public struct InternetChecksum: Sendable, Hashable {
    /// The running sum, not yet folded to 16 bits.
    public private(set) var accumulator: UInt64 = 0

    public init() {}

    /// Adds `bytes` as big-endian 16-bit words (an odd last byte padded with zero).
    /// Only the last chunk added may be odd-length.
    public mutating func add(_ bytes: RawSpan) {
        let n = bytes.byteCount
        var i = 0
        var sum = accumulator
        while i + 1 < n {
            sum &+= UInt64(bytes.u16(i))
            i += 2
        }
        if i < n { sum &+= UInt64(bytes.u8(i)) << 8 }
        accumulator = sum
    }

    public mutating func add(_ bytes: [UInt8]) { add(bytes.span.bytes) }

    public mutating func add(_ word: UInt16) { accumulator &+= UInt64(word) }

    public mutating func add(_ word: UInt32) {
        accumulator &+= UInt64(word >> 16) &+ UInt64(word & 0xFFFF)
    }

    /// The sum folded into 16 bits (0xFFFF over data that includes a right checksum).
    public var folded: UInt16 {
        var s = accumulator
        while s > 0xFFFF { s = (s & 0xFFFF) &+ (s >> 16) }
        return UInt16(s)
    }

    /// The value to store in a checksum field.
    public var checksum: UInt16 { ~folded }

    static func sum(_ bytes: RawSpan) -> InternetChecksum {
        var c = InternetChecksum()
        c.add(bytes)
        return c
    }
}
